"""Decoding configuration: which decoder runs and with which knobs.

Presets are data: ``PRESETS["default"]`` is what ``dank generate`` and
``dank serve`` use when no decoder is named (guarded nucleus sampling),
``PRESETS["paper"]`` the paper's diversity beam with its published defaults,
``PRESETS["paper_app"]`` the settings of the authors' app. Every command, the
server and its OpenAPI schema read them from here
(``DecodeConfig.from_options``), so a default is written down once.
"""

import dataclasses
import math

from dank.core import constants

METHODS = ("greedy", "beam", "diverse", "sample", "nucleus")
# Tokens a beam never proposes (check_vocabulary).
NEVER_PROPOSED = (
    constants.PAD_ID,
    constants.START_ID,
    constants.END_ID,
    constants.UNK_ID,
)
SAMPLING = ("sample", "nucleus")  # Methods that draw independent samples.
SPARE_SAMPLES = 2  # Extra samples drawn per input by ``returning``.


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    """How captions are generated from a step function.

    Scores are always ``logprob / length ** length_penalty`` where ``length``
    counts the generated tokens including ``</s>`` (not ``<s>``).
    """

    # greedy | beam (arg-top-k) | diverse (the paper's sampled beam) | sample.
    method: str = "diverse"
    # Beams kept alive per input (paper 5, the authors' app 2). Beam methods only.
    beam_size: int = 5
    # Most generated tokens per caption, ``</s>`` included (paper 25, app 20).
    max_len: int = 25
    # Softmax temperature: diverse reweights p**(1/T) (paper 1.3, app 2.4);
    # sample divides the logits by it. Ignored by greedy and beam.
    temperature: float = 1.3
    # Diverse only: words kept per beam before reweighting (paper 100).
    top_words: int = 100
    # alpha in logprob / length**alpha, used to rank finished captions. Paper 0.2
    # for diverse; also the default for beam (0 ranks by raw logprob and favours
    # short captions; GNMT-style 0.6-0.7 favours long ones).
    length_penalty: float = 0.2
    # Sample and nucleus: keep the k most likely tokens (0 = off).
    top_k: int = 0
    # Sample and nucleus: nucleus mass to keep, in (0, 1] (1.0 = off).
    top_p: float = 1.0
    # Nucleus only: no </s>, <sep> or <emp> before this many generated tokens,
    # so the top box has at least this many (0 = off).
    min_len: int = 0
    # Nucleus only: never repeat an n-gram of this order within a caption
    # (0 = off; 4 removes loops, real captions repeat a 4-gram ~2% of the time).
    no_repeat_ngram: int = 0
    # Captions returned per input; at most beam_size for beam methods, 1 for
    # greedy. Sampling draws this many independent samples.
    num_return: int = 1
    # Never emit <unk>. The paper's diverse beam always suppresses it; for the
    # other methods it is this flag.
    suppress_unk: bool = True

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(
                f"unknown decoding method {self.method!r}; use one of {METHODS}"
            )
        if self.max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {self.max_len}")
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(
                f"temperature must be a positive number, got {self.temperature}"
            )
        if self.top_words < 1:
            raise ValueError(f"top_words must be >= 1, got {self.top_words}")
        if not self.length_penalty >= 0:  # NaN too.
            raise ValueError(f"length_penalty must be >= 0, got {self.length_penalty}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0 = off), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1] (1 = off), got {self.top_p}")
        if not 0 <= self.min_len < self.max_len:
            raise ValueError(
                f"min_len must be in [0, max_len), got {self.min_len} "
                f"(max_len {self.max_len})"
            )
        if self.no_repeat_ngram < 0 or self.no_repeat_ngram == 1:
            raise ValueError(
                f"no_repeat_ngram must be 0 (off) or >= 2, got {self.no_repeat_ngram}"
            )
        if self.num_return < 1:
            raise ValueError(f"num_return must be >= 1, got {self.num_return}")
        if self.method == "greedy" and self.num_return != 1:
            raise ValueError(
                "greedy decoding returns one caption per input; set num_return=1 "
                "or use method='sample' or a beam method for several"
            )
        if self.method in ("beam", "diverse") and self.num_return > self.beam_size:
            raise ValueError(
                f"num_return ({self.num_return}) must be <= beam_size "
                f"({self.beam_size}) for {self.method} decoding"
            )

    def check_vocabulary(self, size):
        """Raises ValueError if a beam is wider than a ``size``-token vocabulary.

        Each beam proposes ``beam_size`` different words; padding, start, end
        and unknown are never among them.
        """
        usable = size - len(NEVER_PROPOSED)
        if self.method in ("beam", "diverse") and self.beam_size > usable:
            raise ValueError(
                f"beam_size {self.beam_size} is wider than the {usable} tokens a "
                f"beam can choose from (the run's vocabulary); use at most {usable}, "
                "and ask for at most that many captions per picture"
            )

    @classmethod
    def from_options(cls, decoder=None, n=1, **overrides):
        """The config of a request: a decoder's preset, overrides, ``n`` captions.

        This is what ``dank generate`` flags and ``dank serve`` fields map to:
        ``decoder`` (one of ``DECODERS``; None: ``DEFAULT_DECODER``) picks the
        preset of its method (``METHOD_PRESETS``), the ``overrides`` that are not
        None replace its fields (``beam_size``, ``temperature``, ``max_len``...),
        and ``returning(n)`` sets it up for ``n`` captions with spares.

        Raises:
            ValueError: an unknown decoder, a bad value, or ``n`` > 1 with greedy.
        """
        return config_for(decoder or DEFAULT_DECODER, **overrides).returning(n)

    def returning(self, n):
        """This config set up to give ``n`` captions per input, with spares.

        Beam methods widen the beam to at least ``n`` and return every beam;
        sampling draws ``n + SPARE_SAMPLES`` (spares for duplicates and the safety
        filter); greedy always gives one.

        Raises:
            ValueError: ``n`` < 1, or ``n`` > 1 with greedy decoding.
        """
        if n < 1:
            raise ValueError(f"captions per input must be >= 1, got {n}")
        if self.method == "greedy":
            if n > 1:
                raise ValueError(
                    "greedy decoding gives one caption per input; ask for one, "
                    "or use a beam method or sampling for several"
                )
            return self
        if self.method in SAMPLING:
            return dataclasses.replace(self, num_return=n + SPARE_SAMPLES)
        beam = max(self.beam_size, n)
        return dataclasses.replace(self, beam_size=beam, num_return=beam)


PRESETS = {
    "greedy": DecodeConfig(method="greedy"),
    "beam": DecodeConfig(method="beam", beam_size=5),
    "paper": DecodeConfig(method="diverse", beam_size=5, temperature=1.3, max_len=25),
    "paper_app": DecodeConfig(
        method="diverse", beam_size=2, temperature=2.4, max_len=20
    ),
    "sample": DecodeConfig(method="sample", temperature=1.0, top_p=0.9),
    # dank's default (issue 22), chosen on the validation split (`python
    # experiments/quality.py --tune`, experiments/results/quality-tuning.json):
    # plain sampling (top-p 1) at T 1.05 with the top box held to 4+ tokens
    # wrote the lengths of real captions (0.96x) at detector accuracy 0.54.
    # Top-p 0.95 wrote shorter captions in trials on a partly trained model,
    # and costs a sort of the vocabulary every step.
    "nucleus": DecodeConfig(
        method="nucleus", temperature=1.05, top_p=1.0, min_len=4, no_repeat_ngram=4
    ),
}
DEFAULT_DECODER = "nucleus"  # The method `dank generate` and `dank serve` default to.
PRESETS["default"] = PRESETS[DEFAULT_DECODER]
# The decoders a user may name (`dank generate --decoder`, `dank serve`, the
# OpenAPI enum), the default first; "diverse" is the paper's sampled beam.
DECODERS = (DEFAULT_DECODER, "diverse", "beam", "greedy", "sample")
# Each method's settings when only the method is named (`dank generate --decoder`).
METHOD_PRESETS = {
    "greedy": "greedy",
    "beam": "beam",
    "diverse": "paper",
    "sample": "sample",
    "nucleus": "nucleus",
}


def config_for(method, **overrides):
    """``method``'s preset with the ``overrides`` that are not None.

    Raises:
        ValueError: an unknown method or a bad value.
    """
    if method not in METHOD_PRESETS:
        raise ValueError(f"unknown decoding method {method!r}; use one of {METHODS}")
    given = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(PRESETS[METHOD_PRESETS[method]], **given)
