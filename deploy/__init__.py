"""The multi-replica configuration (nginx, Rasa endpoints) and the launcher that fills it in.

``deploy/cluster.py`` starts the whole layout on one machine (the cluster test runs it); the
templates are the configuration for real machines too (docs/deployment.md).
"""
