"""Humour model experiments: training targets and ensembles."""
