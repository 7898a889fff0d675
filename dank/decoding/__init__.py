"""Caption decoding: greedy, beam, the paper's diversity beam and sampling.

All decoders are pure TensorFlow while-loops over a step function
``(tokens, state) -> (logits, state)``; see ``decode``. The configuration
(``DecodeConfig``, ``PRESETS``, ``DECODERS``) imports without TensorFlow, so a
command line can list the decoders and their defaults before loading a model.
"""

import importlib

from dank.decoding.config import (
    DECODERS,
    DEFAULT_DECODER,
    METHODS,
    PRESETS,
    DecodeConfig,
)

# Names that need TensorFlow, imported from their module on first use.
_LAZY = {
    "compiled_decoder": "dank.decoding.api",
    "decode": "dank.decoding.api",
    "Decoded": "dank.decoding.common",
    "split_top_bottom": "dank.decoding.strings",
}

__all__ = [
    "DECODERS",
    "DEFAULT_DECODER",
    "METHODS",
    "PRESETS",
    "DecodeConfig",
    "Decoded",
    "compiled_decoder",
    "decode",
    "split_top_bottom",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
