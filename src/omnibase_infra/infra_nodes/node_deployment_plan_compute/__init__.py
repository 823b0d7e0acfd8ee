"""COMPUTE: plans a deployment (a step of the deployment workflow; subscribes to nothing)."""
