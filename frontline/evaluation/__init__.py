"""Evaluation: labelled questions, metrics, calibration search, public datasets, the eval run.

Only ``frontline eval`` uses this package; the service never imports it (an import contract
in pyproject.toml checks that).
"""
