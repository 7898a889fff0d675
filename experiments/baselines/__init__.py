"""Baselines the models must beat."""
