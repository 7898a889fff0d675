"""What two runtimes of one caption model must agree on, and what they need not.

Keras and onnxruntime compute the same caption step to within float noise, not
bit for bit (other kernels, other summation orders, other thread splits). The
decoders then turn logits into choices: an argmax over sampled scores, or the
k best of the beams' candidates. Where two candidates are closer than the
noise, either choice is right, and the runtimes may pick differently; from
there on their captions for that input differ. (Issue 25: 2 of 120 sampled
tokens differed in one run of a fresh clone, and not when run alone.) So a
parity test checks what is deterministic:

1. ``logit_error``: fed the same tokens, every step's logits agree within a
   tolerance (the model is the same model);
2. ``Decisions`` and ``disagreements``: the captions of each input agree token
   for token unless some choice made while decoding it had a margin under
   ``noise_margins`` (a near tie, counted so a test can bound how many).

A runtime's choices all go through ``ort_runner.top_k`` and
``ort_runner.argmax``; ``Decisions`` wraps both while a decode runs and keeps
each choice's margin (see the class). A gap that two runtimes can see with
opposite signs is at most twice their noise on the values compared, so one
runtime's margins find every place where the two can differ.
"""

import contextlib
from typing import NamedTuple

import numpy as np

from dank.apps.export import ort_runner


def logit_error(step_a, step_b, state_a, state_b, tokens, start_id):
    """Largest |logits_a - logits_b| over every step of teacher forcing.

    Args:
        step_a, step_b: ``(tokens int32 [R], state list) -> (logits [R, V],
            state)`` of the two runtimes, numpy in and out.
        state_a, state_b: each runtime's initial state for the R rows.
        tokens: int32 [R, L]; step t is fed ``<s>`` then ``tokens[:, t - 1]``,
            so both runtimes see the same prefixes whatever they would choose.
        start_id: the ``<s>`` token.
    """
    rows, length = tokens.shape
    inputs = np.concatenate(
        [np.full((rows, 1), start_id, np.int32), tokens[:, :-1].astype(np.int32)],
        axis=1,
    )
    worst = 0.0
    for t in range(length):
        logits_a, state_a = step_a(inputs[:, t], state_a)
        logits_b, state_b = step_b(inputs[:, t], state_b)
        worst = max(
            worst,
            float(
                np.abs(
                    np.asarray(logits_a, np.float64) - np.asarray(logits_b, np.float64)
                ).max()
            ),
        )
    return worst


class Noise(NamedTuple):
    """The smallest margins that two runtimes whose logits differ by at most
    ``logit_noise`` always agree on: ``step`` for a choice among one step's
    words, ``score`` for a choice by a caption's accumulated score."""

    step: float
    score: float


def noise_margins(logit_noise, config):
    """``Noise`` for a decoder ``config`` (a ``DecodeConfig``).

    A log-probability moves by at most twice the logits' difference (the
    log-sum-exp moves too), the paper's diverse beam renormalises once more
    (twice again), temperature divides, and a caption's score adds one term
    per step (beams are chosen by it, and every method ranks its N captions
    by it); a choice flips only if its gap is under twice its values' noise.
    """
    per_step = 2 * logit_noise * (2 if config.method == "diverse" else 1)
    if config.method in ("diverse", "sample"):
        per_step /= min(config.temperature, 1.0)
    return Noise(step=2 * per_step, score=2 * per_step * config.max_len)


def _gaps(x, k):
    """How close the choice ``top_k(x, k)`` was, per leading row of ``x``.

    Returns ``(boundary, near)``: the gap between the k-th largest and the
    first left out (inf when nothing is left out), and per chosen position
    [..., k] the gap to its nearest neighbour in the order. Gaps between two
    -inf (masked alike in both runtimes) count as inf.
    """
    keep = min(k + 1, x.shape[-1])
    v = -np.sort(-np.asarray(x, np.float64), axis=-1)[..., :keep]
    with np.errstate(invalid="ignore"):
        d = np.where(np.isfinite(v[..., :-1]), v[..., :-1] - v[..., 1:], np.inf)
    inf = np.full(v.shape[:-1] + (1,), np.inf)
    boundary = d[..., k - 1] if keep > k else inf[..., 0]
    padded = np.concatenate([inf, d, inf], axis=-1)
    near = np.minimum(padded[..., :-1], padded[..., 1:])[..., :k]
    return boundary, near


class Decisions:
    """The margins of the choices ``ort_runner`` makes while ``watch`` is on.

    A choice's margin is the gap between the last value it kept and the first
    it left out: its order inside the kept ones only matters through a later
    choice made by value (watched too) or through the ranking of the returned
    captions (``ranked``). One case needs more: the paper's diverse
    beam draws Gumbel noise per *position* of its top words, so when a choice
    picks among the positions of the one before it, each picked position's
    gap to its neighbours counts too (two near-equal words that swap places
    swap their noise).

    A choice over the vocabulary (``vocab_size`` values), or among the
    positions of one, compares one step's words (``Noise.step``); any other
    compares captions' scores (``Noise.score``). Every choice acts on arrays
    whose first axis is an input, or an input's rows one after another
    (sampling's N rows per input), so ``clear(B, noise)`` folds the first axis
    into B inputs.
    """

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size
        self.calls = []  # (gaps [rows, ...], "step" or "score")
        self.pending = None  # (shape of its output, near) of the last top_k.

    def _settle(self, shape, picked=None):
        """Records the last ``top_k``'s position gaps where ``picked`` (indices
        into its output) chose among them."""
        if (
            self.pending is not None
            and picked is not None
            and (shape == self.pending[0])
        ):
            near = np.take_along_axis(self.pending[1], picked, axis=-1)
            self.calls.append((near.min(axis=-1), "step"))
        self.pending = None

    @contextlib.contextmanager
    def watch(self, monkeypatch):
        """Wraps ``ort_runner.top_k`` and ``ort_runner.argmax`` while open."""
        top_k, argmax = ort_runner.top_k, ort_runner.argmax

        def watched_top_k(x, k):
            values, indices = top_k(x, k)
            paired = self.pending is not None and x.shape == self.pending[0]
            self._settle(x.shape, indices)
            boundary, near = _gaps(x, k)
            words = paired or x.shape[-1] == self.vocab_size
            self.calls.append((boundary, "step" if words else "score"))
            self.pending = (values.shape, near) if words else None
            return values, indices

        def watched_argmax(x):
            self._settle(x.shape)
            self.calls.append((_gaps(x, 1)[0], "step"))
            return argmax(x)

        with monkeypatch.context() as patch:
            patch.setattr(ort_runner, "top_k", watched_top_k)
            patch.setattr(ort_runner, "argmax", watched_argmax)
            yield self
        self._settle(None)

    def ranked(self, tokens, scores):
        """Records the ranking of the N captions returned per input (best
        first): the smallest score gap between two different captions.
        tokens [B, N, L], scores [B, N]."""
        scores = np.asarray(scores, np.float64)
        distinct = (tokens[:, :, None] != tokens[:, None, :]).any(axis=-1)
        with np.errstate(invalid="ignore"):  # -inf - -inf: empty slots.
            apart = np.abs(scores[:, :, None] - scores[:, None, :])
        apart = np.where(distinct & np.isfinite(apart), apart, np.inf)
        self.calls.append((apart.min(axis=(1, 2)), "score"))

    def clear(self, inputs, noise):
        """Per input, whether every choice's margin was above ``noise`` (a
        ``Noise``): bool [inputs]."""
        out = np.ones(inputs, bool)
        for gaps, kind in self.calls:
            rows = gaps.reshape(gaps.shape[0], -1).min(axis=1)
            low = rows.reshape(inputs, -1).min(axis=1) < getattr(noise, kind)
            out &= ~low
        return out


def disagreements(want, got, clear):
    """Inputs whose captions differ although every choice made for them was
    ``clear``: a real disagreement. want/got [B, ...]; int array."""
    want, got = np.asarray(want), np.asarray(got)
    differ = (want != got).reshape(len(want), -1).any(axis=1)
    return np.flatnonzero(differ & clear)
