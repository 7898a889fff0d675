"""Resampling flagged captions: decode again with a new seed until enough are clean.

This is the one path every generated caption takes before it is shown: in
``dank generate`` and the server (``dank.cascade.generator.MemeGenerator``), in
the generation metrics, and in the exported models' numpy runner
(``dank.apps.export.ort_runner``). So it imports nothing but numpy: the ONNX export
copies this file beside ``ort_runner.py`` (as ``safety_resample.py``, with the
filter and its lexicon), where neither TensorFlow nor ``dank`` is installed.
"""

import numpy as np

MAX_ROUNDS = 6  # Decoding rounds per batch before giving up on N clean captions.
DETERMINISTIC = ("greedy", "beam")  # Decoders that give the same captions again.


def texts(values):
    """Strings from a row of TF string tensors' bytes (or of str, kept as str)."""
    return [
        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values
    ]


def collect_captions(decode_round, n, seed, method, clean=None):
    """Decodes rounds until every row has ``n`` distinct clean captions.

    Args:
        decode_round: ``(int32 [2] seed) -> (tops [B, N], bottoms, scores,
            *extras)``; round ``r`` is decoded with the seed ``[seed, r]``.
            ``extras`` are optional arrays ``[B, N, ...]`` (tokens, lengths)
            carried along with the captions picked.
        n: captions wanted per row.
        seed: the decoding seed (an int).
        method: the decoder; greedy and beam stop after one round, since they
            would give the same captions again.
        clean: ``clean(top, bottom) -> bool``; ``None`` accepts every caption.

    Returns:
        One list per row of up to ``n`` tuples ``(top, bottom, score, *extras)``
        with distinct, non-empty text that ``clean`` accepts, best score first
        within each round. A row may hold fewer when ``MAX_ROUNDS`` rounds did
        not find enough.
    """
    picked, seen = None, None
    for round_ in range(MAX_ROUNDS):
        tops, bottoms, scores, *extras = decode_round(
            np.array([seed, round_], np.int32)
        )
        if picked is None:
            picked = [[] for _ in range(len(tops))]
            seen = [set() for _ in range(len(tops))]
        for row in range(len(tops)):
            candidates = zip(
                texts(tops[row]),
                texts(bottoms[row]),
                scores[row],
                *(extra[row] for extra in extras),
            )
            for top, bottom, score, *carried in sorted(candidates, key=lambda c: -c[2]):
                key = (top, bottom)
                if (
                    len(picked[row]) < n
                    and key not in seen[row]
                    and (top or bottom)
                    and (clean is None or clean(top, bottom))
                ):
                    seen[row].add(key)
                    picked[row].append((top, bottom, float(score), *carried))
        if all(len(p) >= n for p in picked) or method in DETERMINISTIC:
            break
    return picked
