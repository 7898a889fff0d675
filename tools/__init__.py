"""Developer tools, run from the repository root as modules.

``python -m tools.NAME`` (``make faults``, ``make soak``); the tests import
them as ``tools.NAME``.
"""
