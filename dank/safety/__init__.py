"""Keeping offensive captions out: a lexicon, a filter, and (later) the data audit."""

from dank.safety.filter import SafetyFilter, default_filter

__all__ = ["SafetyFilter", "default_filter"]
