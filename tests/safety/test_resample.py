"""``collect_captions``: the resampling loop every generated caption goes through."""

import numpy as np

from dank.safety.filter import SafetyFilter
from dank.safety.resample import MAX_ROUNDS, collect_captions


def rounds(table):
    """A fake decoder: round r gives ``table[r]`` (rows of (top, bottom, score))."""
    calls = []

    def decode_round(seed):
        calls.append(seed.tolist())
        rows = table[min(int(seed[1]), len(table) - 1)]
        tops = np.array([[c[0].encode() for c in row] for row in rows], object)
        bottoms = np.array([[c[1] for c in row] for row in rows], object)
        scores = np.array([[c[2] for c in row] for row in rows], np.float32)
        extra = np.arange(scores.size).reshape(scores.shape) + 100 * int(seed[1])
        return tops, bottoms, scores, extra

    return decode_round, calls


FLAGGED = SafetyFilter([("profanity", "zorp")])


def clean(top, bottom):
    return not FLAGGED.is_flagged(top, bottom)


def test_flagged_captions_are_resampled_never_returned():
    decode_round, calls = rounds(
        [
            [[("zorp day", "", -1.0), ("good day", "", -2.0)]],
            [[("zo", "rp", -0.5), ("good day", "", -0.7), ("nice", "day", -3.0)]],
        ]
    )
    picked = collect_captions(decode_round, 2, 7, "sample", clean)
    assert [c[:2] for c in picked[0]] == [("good day", ""), ("nice", "day")]
    assert calls == [[7, 0], [7, 1]]  # Round r decodes with the seed [seed, r].
    assert [c[3] for c in picked[0]] == [1, 102]  # Extras travel with captions.


def test_rounds_run_out_and_deterministic_decoders_stop_at_once():
    decode_round, calls = rounds([[[("zorp", "", -1.0), ("", "", -0.1)]]])
    assert collect_captions(decode_round, 1, 0, "diverse", clean) == [[]]
    assert len(calls) == MAX_ROUNDS
    decode_round, calls = rounds([[[("zorp", "", -1.0)]]])
    assert collect_captions(decode_round, 1, 0, "beam", clean) == [[]]
    assert len(calls) == 1
    unfiltered = collect_captions(rounds([[[("zorp", "", -1.0)]]])[0], 1, 0, "beam")
    assert unfiltered == [[("zorp", "", -1.0, 0)]]
