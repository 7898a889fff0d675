"""Experiments on the template classifier."""
