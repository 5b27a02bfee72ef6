"""Experiment scripts behind figures of RESULTS.md that no CLI command gives on its own.

Run from the repository root, e.g. ``python -m experiments.deep51_dropout``."""
