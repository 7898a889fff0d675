"""Experiments and benchmarks, run from the repository root as modules.

``python -m experiments.quality``, ``python -m experiments.benchmarks.run``,
``python -m experiments.generation.decoders`` and so on (``make quality``,
``make bench``).
"""
