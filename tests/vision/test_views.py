"""dank.models.vision.views: the test-time views and how they rank."""

import json

import numpy as np

from dank.apps.cli import main
from dank.models.run import Run
from dank.models.vision import views
from dank.models.vision.predict import classify_files, load_array, multi_view


def _picture(seed, h=90, w=120):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_views_trim_borders_and_hold_a_stacked_main_picture():
    main_picture = _picture(0)
    bordered = np.pad(main_picture, ((12, 8), (5, 9), (0, 0)), constant_values=255)
    trimmed, top, bottom, centre = views.extra_views(bordered)
    np.testing.assert_array_equal(trimmed, main_picture)
    assert top.shape == (60, 120, 3) and bottom.shape == (60, 120, 3)
    assert centre.shape == (90 - 2 * 14, 120 - 2 * 12, 3)
    # A second picture stacked below, half as tall: the top two thirds of the
    # stack are the main picture alone.
    stacked = np.concatenate([main_picture, _picture(1, 45)], axis=0)
    np.testing.assert_array_equal(views.extra_views(stacked)[1], main_picture)
    tiny = views.extra_views(np.zeros((2, 2, 3), np.uint8))
    assert all(v.shape[0] >= 1 and v.shape[1] >= 1 for v in tiny)


def test_combine_is_the_mean_probability():
    whole = np.array([0.6, 0.4, 0.0])
    extra = np.array([[0.0, 1.0, 0.0]] * 3 + [[0.0, 0.0, 1.0]])
    np.testing.assert_allclose(views.combine(whole, extra), [0.12, 0.68, 0.2])


def test_views_rank_and_show_their_mean_but_keep_known(tiny_run, tiny_data):
    run = Run.open(tiny_run)
    classifier = run.classifier
    paths = sorted((tiny_data / "templates").iterdir())[:3]
    plain = list(classify_files(paths, classifier, top_k=3, views=False))
    viewed = list(classify_files(paths, classifier, top_k=3))  # Views: the default.
    arrays = [load_array(p, classifier.image_size) for p in paths]
    whole = classifier.predict(arrays)[0]
    mean = multi_view(classifier, arrays, whole)
    assert not np.allclose(mean, whole, atol=1e-3)  # The views do differ here.
    for a, b, w, m in zip(plain, viewed, whole, mean):
        assert a["known"] == b["known"] == bool(w.max() >= classifier.threshold)
        for result, probs in ((a, w), (b, m)):
            shown = [t["prob"] for t in result["templates"]]
            assert shown == sorted(shown, reverse=True)
            expected = np.sort(probs)[::-1][:3]
            np.testing.assert_allclose(shown, expected, atol=1e-4)


def test_classify_cli_views_flag(tiny_run, tiny_data, capsys):
    path = sorted((tiny_data / "templates").iterdir())[0]
    assert main(["classify", str(path), "--run", str(tiny_run), "--no-views"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert len(line["templates"]) == 5 and isinstance(line["known"], bool)
