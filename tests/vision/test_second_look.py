"""dank.models.vision.rerank: the second look at the top candidates."""

import json
import logging

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from dank.apps.cli import main
from dank.core.errors import DankError
from dank.models.vision import rerank


class _Template:
    def __init__(self, label):
        self.label, self.id = label, f"t{label}"


def _meme(picture):
    """``picture`` as a meme: framed, a caption box over its middle."""
    meme = ImageOps.expand(picture.resize((260, 195)), border=(20, 30), fill="white")
    ImageDraw.Draw(meme).rectangle([40, 100, 260, 150], fill=(250, 250, 250))
    return meme


def test_trim_borders_drops_flat_edges(busy_photo):
    inner = np.asarray(busy_photo(0), np.float32)
    padded = np.pad(inner, ((10, 5), (7, 3), (0, 0)), constant_values=255)
    assert rerank.trim_borders(padded).shape == inner.shape


def test_second_look_finds_the_picture_and_reorders_only_the_top_k(busy_photo):
    pictures = [busy_photo(i) for i in range(7)]
    catalogue = [_Template(i) for i in range(7)]
    look = rerank.SecondLook(lambda t: pictures[t.label], top_k=3)
    meme = _meme(pictures[1])
    evidence = look.scores(meme, [0, 1, 2], catalogue)
    inliers, agreement = evidence[:, 0], evidence[:, 1]
    assert inliers[1] >= 30 and inliers[1] > 3 * max(inliers[0], inliers[2])
    # The caption box hides about a fifth of the picture; the rest agrees.
    assert 0.4 <= agreement[1] <= 0.95 and max(agreement[0], agreement[2]) < 0.2
    probs = np.array([0.4, 0.35, 0.1, 0.05, 0.04, 0.03, 0.03])
    order = look.order(meme, probs, catalogue)
    assert order[0] == 1 and sorted(order[:3]) == [0, 1, 2]
    assert list(order[3:]) == [3, 4, 5, 6]
    blind = rerank.SecondLook(look.picture_of, weight=0.0, agree=0.0, top_k=3)
    assert list(blind.order(meme, probs, catalogue)) == list(range(7))
    # Reordered: the same values, the second look's choice on top.
    mixed = look.reordered(np.asarray(meme), probs, catalogue)
    assert mixed.argmax() == 1 and sorted(mixed) == sorted(probs)
    np.testing.assert_array_equal(mixed[3:], probs[3:])


def test_a_recoloured_look_alike_matches_in_shape_but_not_in_colour(busy_photo):
    # Advice animals share one colour wheel: the same shapes in other colours
    # match by keypoints, and only the colours tell the two templates apart.
    picture = busy_photo(4)
    recoloured = Image.fromarray(np.asarray(picture)[..., ::-1])  # RGB -> BGR.
    catalogue = [_Template(0), _Template(1)]
    look = rerank.SecondLook(lambda t: (recoloured, picture)[t.label], top_k=2)
    (inl_other, agree_other), (inl_right, agree_right) = look.scores(
        _meme(picture), [0, 1], catalogue
    )
    assert inl_other >= 20 and inl_right >= 20  # Geometry cannot tell them apart.
    assert agree_right > 0.4 and agree_other < agree_right / 3
    # The look-alike comes first by probability; the colours put it second.
    probs = np.array([0.6, 0.4])
    assert list(look.order(_meme(picture), probs, catalogue)) == [1, 0]


def test_combine_weighs_inliers_by_their_agreement():
    probs = np.array([0.5, 0.5, 0.5])
    evidence = np.array([[60.0, 0.0], [20.0, 0.8], [0.0, 0.0]])
    score = rerank.combine(probs, evidence, weight=0.2, agree=5.0)
    assert score[1] > score[0] == score[2]  # Inliers that disagree count nothing.
    # The evidence is for the top 3 by probability (labels 1, 2, 3); 0 stays last.
    ranking = rerank.ranking(np.array([0.1, 0.5, 0.2, 0.2]), evidence)
    assert list(ranking) == [2, 1, 3, 0]


def test_a_lost_template_picture_scores_nothing(busy_photo, caplog):
    def picture_of(template):
        if template.label == 0:
            raise DankError("templates/t0.jpg: no such file")
        return busy_photo(template.label)

    look = rerank.SecondLook(picture_of, top_k=2)
    with caplog.at_level(logging.WARNING):
        evidence = look.scores(
            _meme(busy_photo(1)), [0, 1], [_Template(0), _Template(1)]
        )
    assert list(evidence[0]) == [0, 0] and evidence[1, 0] >= 30
    assert "no picture of t0" in caplog.text


def test_without_the_data_build_there_is_no_second_look(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert rerank.for_build(tmp_path / "gone") is None
        assert rerank.for_build(None) is None
    assert "--no-second-look" in caplog.text


def test_classify_cli_looks_twice_by_default(tiny_run, tiny_data, capsys, monkeypatch):
    looked = []
    order = rerank.SecondLook.order

    def spy(self, picture, probs, catalogue):
        looked.append(len(probs))
        return order(self, picture, probs, catalogue)

    monkeypatch.setattr(rerank.SecondLook, "order", spy)
    path = sorted((tiny_data / "templates").iterdir())[0]
    for flags, times in (([], 1), (["--no-second-look"], 1)):
        assert main(["classify", str(path), "--run", str(tiny_run), *flags]) == 0
        line = json.loads(capsys.readouterr().out)
        assert len(line["templates"]) == 5 and isinstance(line["known"], bool)
        assert len({t["id"] for t in line["templates"]}) == 5
        assert len(looked) == times  # Looked at by default, not with the flag.


def test_template_features_are_kept_up_to_the_cache_bound(busy_photo, monkeypatch):
    monkeypatch.setattr(rerank, "CACHE", 2)
    seen = []

    def picture_of(template):
        seen.append(template.label)
        return busy_photo(template.label)

    look = rerank.SecondLook(picture_of, top_k=3)
    catalogue = [_Template(i) for i in range(3)]
    meme = _meme(busy_photo(1))
    look.scores(meme, [0, 1], catalogue)
    look.scores(meme, [0, 1], catalogue)  # Both kept: no new decoding.
    assert seen == [0, 1]
    look.scores(meme, [2], catalogue)  # A third one drops the oldest.
    assert sorted(look._templates) == [1, 2]
    assert look._templates[1][0].descriptors.dtype == np.uint8
