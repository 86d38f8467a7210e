"""Tuning: :func:`hypertuner.sweep` runs a training script's trials with Optuna.

``space`` is imported with ``hypertuner`` (for ``hypertuner.uniform`` and the
like); the controller, Optuna and the sweep view load when a sweep starts.
"""
