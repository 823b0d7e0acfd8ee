"""The infrastructure nodes: one ``node_<name>_<archetype>/`` package per node, each with its
``contract.yaml``; ``registration/`` holds what the registration nodes share."""
