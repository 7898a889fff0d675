"""dank.models.vision.rerank: the second look at the top candidates."""

import numpy as np
from PIL import Image

from dank.models.vision import rerank


class _Template:
    def __init__(self, label):
        self.label = label


def _picture(seed, size=(160, 120)):
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)


def test_trim_borders_drops_flat_edges():
    inner = np.asarray(_picture(0), np.float32)
    padded = np.pad(inner, ((10, 5), (7, 3), (0, 0)), constant_values=255)
    assert rerank.trim_borders(padded).shape == inner.shape


def test_ncc_finds_a_cropped_template_and_not_another():
    template = _picture(1)
    query = rerank.prepare(template.crop((10, 8, 150, 112)))
    own = rerank.best_ncc(query, np.asarray(template, np.float32))
    other = rerank.best_ncc(query, np.asarray(_picture(2), np.float32))
    assert own > 0.8 and own > other + 0.3


def test_second_look_reorders_only_the_top_k():
    pictures = [_picture(i) for i in range(7)]
    catalogue = [_Template(i) for i in range(7)]
    look = rerank.SecondLook(lambda t: pictures[t.label], weight=8.0, top_k=3)
    probs = np.array([0.4, 0.35, 0.1, 0.05, 0.04, 0.03, 0.03])
    order = look.order(pictures[1], probs, catalogue)
    assert order[0] == 1 and sorted(order[:3]) == [0, 1, 2]
    assert list(order[3:]) == [3, 4, 5, 6]
    assert list(look.order(pictures[1], probs, catalogue, weight=0.0)) == list(range(7))
