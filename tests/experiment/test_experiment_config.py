"""Experiment configs: the committed ones load, bad ones fail naming the problem."""

import json
from pathlib import Path

import pytest

from dank.apps.cli import main
from dank.apps.reproduce.config import load_experiment, load_experiments, select
from dank.core.errors import DankError
from dank.models.language.config import VARIANTS

CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs"


def write(path, **changes):
    config = {
        "description": "a test",
        "preset": "tiny",
        "variant": "template",
        "run": str(path.parent / "run"),
        "data": str(path.parent / "data"),
        **changes,
    }
    config = {k: v for k, v in config.items() if v is not None}
    path.write_text(json.dumps(config))
    return path


def test_committed_configs_cover_every_variant_in_both_sizes():
    experiments = load_experiments(CONFIGS)
    assert sorted(experiments) == sorted(
        [f"{v}-{size}" for v in VARIANTS for size in ("cpu", "paper")]
        + ["template-full"]
    )
    runs = {"cpu": "runs/default", "paper": "runs/paper", "full": "runs/full"}
    for name, e in experiments.items():
        config = e.language_config()
        assert config.variant == e.variant
        assert e.preset == name.rsplit("-", 1)[1]
        assert e.run == runs[e.preset]
        assert e.description
    paper, full = (
        experiments[f"template-{p}"].language_config() for p in ("paper", "full")
    )
    assert (full.units, full.embedding_dim) == (paper.units, paper.embedding_dim)
    assert experiments["template-full"].data == experiments["template-paper"].data


def test_overrides_change_the_preset(tmp_path):
    e = load_experiment(
        write(tmp_path / "x.json", overrides={"epochs": 3, "dropout": 0})
    )
    assert e.name == "x"
    assert (e.language_config().epochs, e.language_config().dropout) == (3, 0.0)


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"epochz": 3}, "'epochz'"),
        ({"overrides": {"unitz": 4}}, "'unitz'"),
        ({"overrides": {"units": "many"}}, "overrides.units"),
        ({"overrides": {"tie_embeddings": 1}}, "overrides.tie_embeddings"),
        ({"overrides": {"variant": "image"}}, "top-level"),
        ({"overrides": {"conditioning": "sideways"}}, "conditioning"),
        ({"variant": "telepathy"}, "'telepathy'"),
        ({"preset": "huge"}, "'huge'"),
        ({"run": None}, "run"),
        ({"generation": {"beams": 3}}, "'beams'"),
    ],
)
def test_bad_configs_name_the_problem(tmp_path, changes, named):
    path = write(tmp_path / "bad.json", **changes)
    with pytest.raises(DankError, match=named) as info:
        load_experiment(path)
    assert str(path) in str(info.value)


def test_select_by_name_and_pattern():
    experiments = load_experiments(CONFIGS)
    assert [e.name for e in select(experiments, ["*-cpu"])] == [
        "attention-cpu",
        "image-cpu",
        "label_average-cpu",
        "template-cpu",
    ]
    assert [e.name for e in select(experiments, ["image*", "image-cpu"])] == [
        "image-cpu",
        "image-paper",
    ]
    with pytest.raises(DankError, match="no experiment 'imgae-cpu'"):
        select(experiments, ["imgae-cpu"])


def test_dry_run_lists_what_would_be_trained(tmp_path, tiny_data, tiny_run, capsys):
    configs = tmp_path / "configs"
    configs.mkdir()
    empty = tmp_path / "empty-run"
    write(
        configs / "image-tiny.json",
        variant="image",
        run=str(empty),
        data=str(tiny_data),
    )
    write(configs / "template-tiny.json", run=str(tiny_run), data=str(tiny_data))
    write(
        configs / "fresh-tiny.json",
        data=str(tmp_path / "new-build"),
        source=str(tmp_path / "source"),
    )
    results = tmp_path / "results"
    assert (
        main(
            [
                "experiment",
                "run",
                "*-tiny",
                "--dry-run",
                "--configs",
                str(configs),
                "--results",
                str(results),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"fresh-tiny: data: build {tmp_path / 'new-build'} from {tmp_path / 'source'}",
        f"fresh-tiny: language: train caption model template (preset tiny) into "
        f"{configs / 'run' / 'language'}",
        f"fresh-tiny: evaluate: evaluate into {results / 'fresh-tiny.json'}",
        f"image-tiny: vision: train vision (preset tiny) into {empty / 'vision'}",
        f"image-tiny: language: train caption model image (preset tiny) into "
        f"{empty / 'language-image'}",
        f"image-tiny: evaluate: evaluate into {results / 'image-tiny.json'}",
        f"template-tiny: evaluate: evaluate into {results / 'template-tiny.json'}",
    ]
    assert not empty.exists() and not results.exists()  # A dry run writes nothing.


def test_dry_run_refuses_missing_data_without_source(tmp_path, capsys):
    configs = tmp_path / "configs"
    configs.mkdir()
    write(configs / "lost.json")
    assert (
        main(["experiment", "run", "lost", "--dry-run", "--configs", str(configs)]) == 2
    )
    assert 'names no "source"' in capsys.readouterr().err
