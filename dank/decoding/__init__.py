"""Caption decoding: greedy, beam, the paper's diversity beam and sampling.

All decoders are pure TensorFlow while-loops over a step function
``(tokens, state) -> (logits, state)``; see ``decode``.
"""

from dank.decoding.api import compiled_decoder, decode
from dank.decoding.common import Decoded
from dank.decoding.config import METHODS, PRESETS, DecodeConfig
from dank.decoding.strings import split_top_bottom

__all__ = [
    "METHODS",
    "PRESETS",
    "DecodeConfig",
    "Decoded",
    "compiled_decoder",
    "decode",
    "split_top_bottom",
]
