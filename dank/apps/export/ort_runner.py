"""Runs a ``dank export --format onnx`` folder with numpy and onnxruntime only.

This file imports neither TensorFlow nor Keras nor the rest of ``dank``: the
export copies it into the ONNX folder, so ``from ort_runner import OnnxCascade``
works wherever numpy and onnxruntime are installed (Pillow too, but only for
``load_pixels``).

Captions pass the safety filter here as everywhere else: ``OnnxCascade``
resamples flagged ones with ``dank.safety.resample.collect_captions``, the
code ``dank generate`` uses, over ``dank.safety.filter``'s lexicon. The export
copies those two modules and the lexicon beside this file (``SAFETY_FILES``);
``no_filter=True`` turns the filter off, with a warning, for research.

Why the decoding loops live here and not in the ONNX files: the TF decoders
are one ``tf.while_loop`` each, and tf2onnx does not convert such loops
faithfully (``tf.one_hot`` with a scalar index inside a while loop gives an
invalid ONNX graph, and a converter can write that file without complaint).
So the export holds the classifier, the caption model's ``initial_state`` and
one decoding ``step``, and this module runs the same loops as
``dank.decoding`` line for line: greedy, beam, the paper's diverse beam and
sampling. The random stream is the same integer hash as
``dank.decoding.common.gumbel_noise`` (not TF's stateless RNG), so the same
seed draws the same noise here; tests check that the tokens match TF's.
"""

import json
import logging
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime as ort

if __package__:  # dank.apps.export.ort_runner, inside the package.
    from dank.safety.filter import default_filter
    from dank.safety.resample import collect_captions
else:  # ort_runner.py in an ONNX export folder, beside its copies.
    from safety_filter import default_filter
    from safety_resample import collect_captions

log = logging.getLogger(__name__)

MANIFEST_FILE = "dank_onnx.json"
# The files of dank/safety/ the export copies beside this one: copy -> original.
SAFETY_FILES = {
    "safety_filter.py": "filter.py",
    "safety_resample.py": "resample.py",
    "lexicon.txt": "lexicon.txt",
}
NEG_INF = np.float32(-np.inf)
METHODS = ("greedy", "beam", "diverse", "sample")


class Decoded(NamedTuple):
    """As ``dank.decoding.Decoded``: tokens int32 [B, N, L], scores, lengths [B, N]."""

    tokens: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray


# -- the shared pieces of dank.decoding.common, in numpy --------------------


def log_softmax(logits):
    """float32 log-softmax over the last axis (as ``tf.nn.log_softmax``)."""
    x = np.asarray(logits, np.float32)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def logsumexp(x):
    """As ``tf.reduce_logsumexp(x, -1, keepdims=True)``, -inf rows included."""
    top = x.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, np.float32(0))
    with np.errstate(divide="ignore"):
        return np.log(np.exp(x - top).sum(axis=-1, keepdims=True)) + top


# Every choice the decoders make goes through ``top_k`` or ``argmax``, looked
# up by name at call time, so a parity test can wrap them and see how close
# each choice was (tests/export/decoder_parity.py).
def top_k(x, k):
    """The k largest along the last axis, largest first, lower index first on
    ties (what ``tf.math.top_k`` promises): (values, indices)."""
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, order, axis=-1), order.astype(np.int32)


def argmax(x):
    """Index of the largest along the last axis, lower index first on ties."""
    return x.argmax(axis=-1)


def mask_banned(logprobs, ids, suppress_unk):
    """Sets PAD, <s> (and <unk> when asked) to -inf."""
    banned = [ids["pad"], ids["start"]] + ([ids["unk"]] if suppress_unk else [])
    out = logprobs.copy()
    out[..., banned] = NEG_INF
    return out


def length_normalise(logprob, length, alpha):
    """logprob / length**alpha in float32 (alpha 0: unchanged)."""
    if alpha == 0:
        return logprob
    return logprob / np.power(np.asarray(length, np.float32), np.float32(alpha))


def as_seed(seed):
    """An int, or two ints, as the int32 [2] seed the TF decoders use."""
    if isinstance(seed, int | np.integer):
        seed = int(seed)
        return np.array([seed & 0x7FFFFFFF, (seed >> 31) & 0x7FFFFFFF], np.int32)
    seed = np.asarray(seed).astype(np.int32).reshape(-1)
    if seed.shape != (2,):
        raise ValueError(f"seed must be an int or two ints, got shape {seed.shape}")
    return seed


def _hash32(x):
    """lowbias32 (as ``dank.decoding.common._hash32``): uint32 -> uint32."""
    x = np.asarray(x, np.uint32)
    with np.errstate(over="ignore"):  # uint32 products wrap, as in TF.
        x = x ^ (x >> np.uint32(16))
        x = x * np.uint32(0x7FEB352D)
        x = x ^ (x >> np.uint32(15))
        x = x * np.uint32(0x846CA68B)
        return x ^ (x >> np.uint32(16))


def gumbel_noise(shape, seed, step):
    """The same Gumbel noise as ``dank.decoding.common.gumbel_noise``."""
    seed = as_seed(seed).astype(np.uint32)
    with np.errstate(over="ignore"):
        step = np.asarray(step, np.uint32) + np.uint32(0x9E3779B9)
    key = _hash32(seed[0] ^ _hash32(seed[1] ^ _hash32(step)))
    bits = _hash32(np.arange(int(np.prod(shape)), dtype=np.uint32) ^ key)
    bits = _hash32(bits + key)
    u = ((bits >> np.uint32(8)).astype(np.float32) + np.float32(0.5)) * np.float32(
        2.0**-24
    )
    return (-np.log(-np.log(u))).astype(np.float32).reshape(shape)


# -- the decoding loops of dank.decoding, in numpy --------------------------


def token_loop(step_fn, state, rows, config, ids, choose):
    """``dank.decoding.greedy.token_loop``: one token per row until ``</s>``."""
    max_len = config["max_len"]
    tokens = np.full([rows], ids["start"], np.int32)
    seqs = np.full([rows, max_len], ids["pad"], np.int32)
    logprob = np.zeros([rows], np.float32)
    lengths = np.zeros([rows], np.int32)
    done = np.zeros([rows], bool)
    t = 0
    while t < max_len and not done.all():
        logits, state = step_fn(tokens, state)
        logprobs = log_softmax(logits)
        nxt = np.where(done, ids["pad"], choose(logprobs, t)).astype(np.int32)
        picked = logprobs[np.arange(rows), nxt]
        logprob += np.where(done, np.float32(0), picked)
        lengths += np.where(done, 0, 1).astype(np.int32)
        seqs[:, t] = nxt
        done |= nxt == ids["end"]
        tokens, t = nxt, t + 1
    return seqs, length_normalise(logprob, lengths, config["length_penalty"]), lengths


def filter_logits(logits, top_k_=0, top_p=1.0):
    """``dank.decoding.sampling.filter_logits``: top-k, then nucleus, to -inf."""
    if top_k_ and top_k_ < logits.shape[-1]:
        kth = top_k(logits, top_k_)[0][:, -1:]
        logits = np.where(logits < kth, NEG_INF, logits)
    if top_p < 1.0:
        ordered = -np.sort(-logits, axis=-1)
        probs = np.exp(log_softmax(ordered))
        before = np.cumsum(probs, axis=-1) - probs
        kept = (before < top_p) & (ordered > NEG_INF)
        threshold = np.where(kept, ordered, ordered[:, :1]).min(axis=-1)
        logits = np.where(logits < threshold[:, None], NEG_INF, logits)
    return logits


def beam_loop(step_fn, state, batch, config, ids, expand):
    """``dank.decoding.beam.beam_loop``: K alive beams and K finished per input."""
    k, max_len, alpha = config["beam_size"], config["max_len"], config["length_penalty"]
    pad, end = ids["pad"], ids["end"]
    state = [np.repeat(s, k, axis=0) for s in state]
    tokens = np.full([batch * k], ids["start"], np.int32)
    alive_seqs = np.full([batch, k, max_len], pad, np.int32)
    alive_lp = np.tile(np.array([0.0] + [-np.inf] * (k - 1), np.float32), (batch, 1))
    fin_seqs = np.full([batch, k, max_len], pad, np.int32)
    fin_score = np.full([batch, k], NEG_INF, np.float32)
    fin_len = np.zeros([batch, k], np.int32)
    row_offset = np.arange(batch)[:, None] * k

    def hopeless():
        best = alive_lp.max(axis=-1, initial=NEG_INF)
        return (length_normalise(best, max_len, alpha) < fin_score.min(axis=-1)) | (
            best == NEG_INF
        )

    t = 0
    while t < max_len and not hopeless().all():
        logits, state = step_fn(tokens, state)
        logprobs = log_softmax(logits).reshape(batch, k, -1)
        cand_tok, cand_inc = expand(logprobs, t)
        c = cand_tok.shape[-1]
        cand_tok = cand_tok.reshape(batch, k * c).astype(np.int32)
        cand_lp = (alive_lp[:, :, None] + cand_inc).reshape(batch, k * c)
        is_end = cand_tok == end
        new_lp, pick = top_k(np.where(is_end, NEG_INF, cand_lp), k)
        parent = pick // c
        new_tok = np.take_along_axis(cand_tok, pick, axis=1)
        new_seqs = np.take_along_axis(alive_seqs, parent[:, :, None], axis=1)
        new_seqs[:, :, t] = new_tok
        rows = (row_offset + parent).reshape(-1)
        state = [s[rows] for s in state]
        end_score = np.where(
            is_end, length_normalise(cand_lp, t + 1, alpha), NEG_INF
        ).astype(np.float32)
        end_seqs = np.repeat(alive_seqs, c, axis=1)
        end_seqs[:, :, t] = end
        fin_score, keep = top_k(np.concatenate([fin_score, end_score], 1), k)
        fin_seqs = np.take_along_axis(
            np.concatenate([fin_seqs, end_seqs], 1), keep[:, :, None], axis=1
        )
        all_len = np.concatenate([fin_len, np.full(cand_tok.shape, t + 1, np.int32)], 1)
        fin_len = np.take_along_axis(all_len, keep, axis=1)
        tokens, alive_seqs, alive_lp, t = new_tok.reshape(-1), new_seqs, new_lp, t + 1

    # ``_rank``: finished captions first, cut-off beams fill the missing slots.
    n = config["num_return"]
    alive_score = length_normalise(alive_lp, t, alpha)
    n_fin = (fin_score > NEG_INF).sum(axis=-1)
    slot = np.arange(n)[None, :]
    index = np.where(slot < n_fin[:, None], slot, k + slot - n_fin[:, None])
    seqs = np.take_along_axis(
        np.concatenate([fin_seqs, alive_seqs], 1), index[:, :, None], axis=1
    )
    scores = np.take_along_axis(np.concatenate([fin_score, alive_score], 1), index, 1)
    lengths = np.concatenate([fin_len, np.full(fin_len.shape, t, np.int32)], 1)
    return Decoded(seqs, scores, np.take_along_axis(lengths, index, axis=1))


def decode(step_fn, state, config, ids, seed=0):
    """Runs ``config["method"]`` as ``dank.decoding.decode`` does.

    Args:
        step_fn: ``(tokens int32 [R], state list) -> (logits [R, V], state)``.
        state: list of arrays with leading dim B.
        config: the ``DecodeConfig`` fields as a dict.
        ids: special token ids (``pad``, ``unk``, ``start``, ``end``).
        seed: int or two ints; used by ``diverse`` and ``sample``.
    """
    method, batch = config["method"], state[0].shape[0]
    if method not in METHODS:
        raise ValueError(f"unknown decoding method {method!r}; use one of {METHODS}")
    seed, end = as_seed(seed), ids["end"]
    if method in ("greedy", "sample"):
        n = 1 if method == "greedy" else config["num_return"]

        def choose(logprobs, t):
            masked = mask_banned(logprobs, ids, config["suppress_unk"])
            if method == "greedy":
                return argmax(masked)
            logits = filter_logits(
                masked / np.float32(config["temperature"]),
                config["top_k"],
                config["top_p"],
            )
            return argmax(logits + gumbel_noise(logits.shape, seed, t))

        state = [np.repeat(s, n, axis=0) for s in state]
        seqs, scores, lengths = token_loop(
            step_fn, state, batch * n, config, ids, choose
        )
        seqs = seqs.reshape(batch, n, -1)
        scores, lengths = scores.reshape(batch, n), lengths.reshape(batch, n)
        order = np.argsort(-scores, axis=-1, kind="stable")
        return Decoded(
            *(
                np.take_along_axis(a, o, 1)
                for a, o in (
                    (seqs, order[:, :, None]),
                    (scores, order),
                    (lengths, order),
                )
            )
        )
    k = config["beam_size"]

    def expand(logprobs, t):
        if method == "beam":
            masked = mask_banned(logprobs, ids, config["suppress_unk"])
            end_lp = masked[:, :, end].copy()
            masked[:, :, end] = NEG_INF
            values, tok = top_k(masked, k)
            tok = np.concatenate([tok, np.full(tok[:, :, :1].shape, end, np.int32)], -1)
            return tok, np.concatenate([values, end_lp[:, :, None]], -1)
        masked = mask_banned(logprobs, ids, suppress_unk=True)  # The paper's rule.
        values, words = top_k(masked, min(config["top_words"], masked.shape[-1]))
        scaled = values / np.float32(config["temperature"])
        log_q = scaled - logsumexp(scaled)
        noise = gumbel_noise(log_q.shape, seed, t)
        _, pick = top_k(log_q + noise, min(k, log_q.shape[-1]))
        return (
            np.take_along_axis(words, pick, -1),
            np.take_along_axis(log_q, pick, -1),
        )

    return beam_loop(step_fn, state, batch, config, ids, expand)


# -- token ids to text (dank.decoding.strings.split_top_bottom) --------------


def _join(words):
    text = " ".join(words)
    text = re.sub(r" +([.,!?:;%)])", r"\1", text)
    return re.sub(r"([(]) +", r"\1", text)


def split_top_bottom(tokens, vocab, ids):
    """Top and bottom text of each caption row, split at the first ``<sep>``."""
    silent = {ids[key] for key in ("pad", "start", "end", "sep", "emp")}
    tokens = np.asarray(tokens)
    top = np.empty(tokens.shape[:-1], object)
    bottom = np.empty(tokens.shape[:-1], object)
    for index in np.ndindex(tokens.shape[:-1]):
        parts, side = ([], []), 0
        for token in tokens[index].tolist():
            if token == ids["end"]:
                break
            if token == ids["sep"]:
                side = 1
            if token not in silent:
                parts[side].append(vocab[token])
        top[index], bottom[index] = _join(parts[0]), _join(parts[1])
    return top, bottom


# -- the exported models --------------------------------------------------------


class OnnxCascade:
    """The cascade of an ONNX export: classify pixels, caption, generate.

    Every caption returned has passed the safety filter: flagged (and empty or
    repeated) captions are dropped and more are decoded with new seeds, as
    ``dank generate`` does, so a row may hold fewer than N captions (see
    ``caption``).

    Args:
        export_dir: a ``dank export --format onnx`` folder.
        providers: onnxruntime execution providers (default: CPU).
        threads: intra-op threads per session (0: onnxruntime decides).
        no_filter: return the decoder's raw captions, offensive ones included
            (research only; it logs a warning).
    """

    def __init__(self, export_dir, providers=None, threads=0, no_filter=False):
        self.dir = Path(export_dir)
        self.manifest = json.loads((self.dir / MANIFEST_FILE).read_text("utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        providers = providers or ["CPUExecutionProvider"]
        self.sessions = {
            name: ort.InferenceSession(
                str(self.dir / file), options, providers=providers
            )
            for name, file in self.manifest["onnx_files"].items()
        }
        self.ids = self.manifest["special_ids"]
        self.vocab = self.manifest["vocab"]
        self.image_size = self.manifest["image_size"]
        self.threshold = self.manifest["threshold"]
        self.n_state = self.manifest["n_state"]
        images = self.dir / "template_images.npy"
        self.template_images = np.load(images) if images.is_file() else None
        self.safety = None if no_filter else default_filter()
        if no_filter:
            log.warning(
                "safety filter OFF: captions may be offensive (research use only)"
            )

    def decode_config(self, **changes):
        """The export's decoder settings with ``changes`` applied."""
        config = {**self.manifest["decode_config"], **changes}
        unknown = set(config) - set(self.manifest["decode_config"])
        if unknown:
            raise ValueError(f"unknown decoding settings {sorted(unknown)}")
        return config

    def classify(self, pixels):
        """pixels float32 [B, S, S, 3] RGB 0..255 -> {probs, embedding, known}."""
        probs, embedding = self.sessions["classifier"].run(
            ["probs", "embedding"], {"pixels": np.asarray(pixels, np.float32)}
        )
        return {
            "probs": probs,
            "embedding": embedding,
            "known": probs.max(axis=-1) >= self.threshold,
        }

    def initial_state(self, template_weights, image_embedding):
        """The caption model's state before ``<s>``: a list of arrays."""
        names = [f"state_{i}" for i in range(self.n_state)]
        return self.sessions["caption_init"].run(
            names,
            {
                "template_weights": np.asarray(template_weights, np.float32),
                "image_embedding": np.asarray(image_embedding, np.float32),
            },
        )

    def step(self, tokens, state):
        """One decoding step: (logits [R, V], new state)."""
        names = [f"state_{i}" for i in range(self.n_state)]
        feeds = {"tokens": np.asarray(tokens, np.int32)}
        feeds.update(zip(names, state))
        outputs = ["logits", *(f"new_{name}" for name in names)]
        logits, *state = self.sessions["caption_step"].run(outputs, feeds)
        return logits, state

    def caption(self, template_weights, image_embedding, seed=0, **settings):
        """Captions [B] conditions; ``settings`` override the export's decoder
        settings (``method="beam"``, ``beam_size=3``, ...).

        Returns:
            dict of tokens int32 [B, N, L], scores, lengths [B, N], top and
            bottom (object arrays of str [B, N]) and found int [B]: how many of
            a row's N slots hold a caption. With the filter on (the default)
            those come first, clean and distinct, and the rest are empty
            (score -inf, length 0): round 0 decodes with ``seed`` and round r
            with ``[seed, r]``, as ``dank generate`` does, until N are found or
            the rounds run out.
        """
        config = self.decode_config(**settings)
        state = self.initial_state(template_weights, image_embedding)
        if self.safety is None:
            out = self._decode(state, config, seed)
            return {**out, "found": np.full(len(out["top"]), out["top"].shape[1])}
        return self._clean_captions(state, config, as_seed(seed))

    def _decode(self, state, config, seed):
        out = decode(self.step, state, config, self.ids, seed)
        top, bottom = split_top_bottom(out.tokens, self.vocab, self.ids)
        return {**out._asdict(), "top": top, "bottom": bottom}

    def _clean_captions(self, state, config, seed):
        """``caption`` with the safety filter: ``collect_captions`` over rounds."""
        n = 1 if config["method"] == "greedy" else config["num_return"]

        def decode_round(round_seed):
            shifted = (int(seed[1]) + int(round_seed[1])) & 0x7FFFFFFF
            out = self._decode(state, config, np.array([seed[0], shifted], np.int32))
            return (
                out["top"],
                out["bottom"],
                out["scores"],
                out["tokens"],
                out["lengths"],
            )

        picked = collect_captions(
            decode_round,
            n,
            int(seed[0]),
            config["method"],
            lambda top, bottom: not self.safety.is_flagged(top, bottom),
        )
        rows = len(picked)
        out = {
            "tokens": np.full((rows, n, config["max_len"]), self.ids["pad"], np.int32),
            "scores": np.full((rows, n), NEG_INF, np.float32),
            "lengths": np.zeros((rows, n), np.int32),
            "top": np.full((rows, n), "", object),
            "bottom": np.full((rows, n), "", object),
            "found": np.array([len(p) for p in picked]),
        }
        for row, captions in enumerate(picked):
            for slot, (top, bottom, score, tokens, length) in enumerate(captions):
                out["top"][row, slot], out["bottom"][row, slot] = top, bottom
                out["scores"][row, slot], out["tokens"][row, slot] = score, tokens
                out["lengths"][row, slot] = length
        return out

    def caption_template(self, template_ids, seed=0, **settings):
        """Captions for catalogue labels ``template_ids`` [B] (no picture)."""
        labels = np.asarray(template_ids, np.int64)
        weights = np.eye(self.manifest["n_templates"], dtype=np.float32)[labels]
        if self.template_images is not None:
            image = self.template_images[labels]
        else:  # The template variant ignores the image.
            image = np.zeros((len(labels), self.manifest["image_dim"]), np.float32)
        return self.caption(weights, image, seed, **settings)

    def template_weights(self, probs):
        """One-hot of the top template, or the export's top-k mixed by probability."""
        k = self.manifest["mix_top_k"]
        values, indices = top_k(np.asarray(probs, np.float32), k)
        values = values / values.sum(axis=-1, keepdims=True)
        weights = np.zeros_like(probs, dtype=np.float32)
        np.put_along_axis(weights, indices, values, axis=-1)
        return weights

    def generate(self, pixels, seed=0, **settings):
        """Pixels [B, S, S, 3] -> classify's and caption's outputs together."""
        found = self.classify(pixels)
        weights = self.template_weights(found["probs"])
        return {**found, **self.caption(weights, found["embedding"], seed, **settings)}

    def load_pixels(self, images):
        """Image paths or bytes -> float32 [B, S, S, 3] (needs Pillow).

        Pillow's antialiased bilinear resize is close to, not bit-identical
        with, the SavedModel's in-graph ``tf.image.resize(antialias=True)``.
        """
        import io

        from PIL import Image

        out = []
        for image in images:
            source = io.BytesIO(image) if isinstance(image, bytes) else image
            with Image.open(source) as im:
                im = im.convert("RGB").resize(
                    (self.image_size, self.image_size), Image.BILINEAR
                )
                out.append(np.asarray(im, np.float32))
        return (
            np.stack(out)
            if out
            else np.zeros((0, self.image_size, self.image_size, 3), np.float32)
        )
