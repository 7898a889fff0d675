"""The benchmark suite (``python -m experiments.benchmarks.run``, ``make bench``)."""
