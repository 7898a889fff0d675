"""Training the humour model on the tiny build, through the command line."""

import csv
import json

import numpy as np
import pytest

from dank.apps import cli
from dank.models.humor.config import HUMOR_DIR


@pytest.fixture(scope="module")
def ratings(tiny_data, tmp_path_factory):
    """A ratings CSV in the crowd-rating format, made of 8 training captions."""
    from dank.data.catalogue import Catalogue
    from dank.data.pipeline import load_captions

    catalogue = Catalogue.load(tiny_data)
    rows = load_captions(tiny_data, "train")[:8]
    path = tmp_path_factory.mktemp("ratings") / "ratings.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "template_id",
                "uppercaption",
                "lowercaption",
                "views",
                "upvote",
                "bws_score",
            ]
        )
        for i, r in enumerate(rows):
            w.writerow(
                [
                    catalogue[r["label"]].id,
                    r["top"].upper(),
                    r["bottom"],
                    100 + i,
                    i % 3,
                    (i % 5) / 4 - 0.5,
                ]
            )
        w.writerow(["imgflip-Not-In-Catalogue", "brand new", "template", 10, 1, 0.25])
    return path


@pytest.fixture(scope="module")
def run(tiny_data, ratings, tmp_path_factory):
    run = tmp_path_factory.mktemp("humor_run")
    status = cli.main(
        [
            "train",
            "humor",
            "--data",
            str(tiny_data),
            "--run",
            str(run),
            "--preset",
            "tiny",
            "--holdout",
            str(ratings),
        ]
    )
    assert status == 0
    return run


def test_training_loss_falls(run):
    metrics = json.loads((run / HUMOR_DIR / "metrics.json").read_text())
    loss = metrics["loss"]
    assert len(loss) == 8 and loss[-1] < loss[0]
    assert metrics["target"] == "smoothed_rate"
    assert metrics["excluded_holdout_captions"] == 8
    assert metrics["train_captions"] > 100


def test_scorer_is_deterministic_and_template_aware(run):
    from dank.models.humor import rerank
    from dank.models.run import Run

    scorer = Run.open(run).humor
    captions = [("finally finished homework", "first try"), ("beep boop", "tax")]
    a = scorer.score(captions, 0)
    assert a.shape == (2,) and np.all((a > 0) & (a < 1))
    np.testing.assert_array_equal(a, Run.open(run).humor.score(captions, 0))
    unknown = scorer.score(captions, None)
    np.testing.assert_array_equal(unknown, scorer.score(captions, 10_000))
    candidates = [
        (f"finally finished {w}", c)
        for w in ("bug", "exam", "bike")
        for c in ("first try", "before lunch")
    ]
    first = rerank(candidates, 0, k=3, scorer=scorer, seed=1)
    assert first == rerank(candidates, 0, k=3, scorer=scorer, seed=1)
    assert [r.score for r in first] == sorted((r.score for r in first), reverse=True)


def test_evaluate_against_ratings(run, ratings, capsys):
    assert (
        cli.main(["evaluate", "humor", "--run", str(run), "--ratings", str(ratings)])
        == 0
    )
    out = capsys.readouterr().out
    assert "raw_upvotes" in out and "trained without these ratings: True" in out
    result = json.loads((run / HUMOR_DIR / "ratings.json").read_text())
    assert result["captions"] == 9 and result["known_templates"] == 8
    assert -1 <= result["humor_model"]["spearman"] <= 1


def test_bad_target_and_missing_ratings(run, tiny_data, capsys):
    assert (
        cli.main(
            ["evaluate", "humor", "--run", str(run), "--ratings", str(run / "nope.csv")]
        )
        == 2
    )
    assert "not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "humor", "--data", str(tiny_data), "--target", "likes"])


def test_votes_come_from_the_records_not_a_second_read(
    tiny_data, tiny_source, monkeypatch
):
    from dank.data.pipeline import load_catalogue
    from dank.models.humor import examples as ex
    from dank.models.humor.config import preset
    from dank.models.humor.train import train_humor

    assert ex.stores_votes(tiny_data)
    joined = ex.load_examples(
        tiny_data, "train", ex.source_votes(tiny_source, load_catalogue(tiny_data))
    )

    def no_reading(*args, **kwargs):
        raise AssertionError("the source CSV was read again")

    monkeypatch.setattr(ex.sources, "read_captions", no_reading)
    stored = ex.load_examples(tiny_data, "train", ex.RECORDS)
    assert stored == joined and len(stored["label"]) > 100
    assert not np.isnan(stored["views"]).any()

    class Stop(Exception):
        pass

    def capture(data_dir, split, votes=None, exclude=frozenset()):
        raise Stop(votes)

    monkeypatch.setattr(ex, "load_examples", capture)
    with pytest.raises(Stop) as stopped:
        train_humor(tiny_data, tiny_data.parent / "unused", preset("tiny"))
    assert stopped.value.args == (ex.RECORDS,)
