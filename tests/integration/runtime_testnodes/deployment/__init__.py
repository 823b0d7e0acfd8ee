"""The operator's side of the shipped deployment workflow: the apply effect it calls."""
