"""Runs an experiment: trains what is missing, evaluates, writes its results JSON.

``plan`` says what ``run_experiment`` would do (``dank experiment run
--dry-run``); each step is skipped when its output exists, so an interrupted
``make paper`` resumes: a finished model is not retrained, an unfinished one
resumes from its ``backup/`` (Keras ``BackupAndRestore``).

Steps, in order: build the data (only when missing and the config names a
``source``), train the vision model (only for the image variants, and only when
the run has none), train the caption model (when ``model.keras`` is missing),
evaluate. ``experiments/results/<name>.json`` then holds the held-out perplexity
(from the caption model's ``metrics.json``), the paper's 105-pair protocol
(``dank.apps.reproduce.protocol``), the generation metrics
(``dank.metrics.generation``), the vision model's template top-1, and what the
numbers came from: machine, preset, data build and date.
"""

import datetime
import logging
from pathlib import Path

from dank import __version__
from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_json, write_json
from dank.core.machine import machine_info

log = logging.getLogger(__name__)

DEFAULT_RESULTS = Path("experiments/results")


def result_path(experiment, results_dir=DEFAULT_RESULTS):
    """Where the experiment's results JSON goes."""
    return Path(results_dir) / f"{experiment.name}.json"


def _needs_vision(experiment):
    from dank.models.language.models import IMAGE_VARIANTS

    return experiment.variant in IMAGE_VARIANTS


def plan(experiment, results_dir=DEFAULT_RESULTS):
    """The steps ``run_experiment`` would take, as ``(kind, description)`` pairs.

    ``kind`` is one of ``data``, ``vision``, ``language``, ``evaluate``.

    Raises:
        DankError: the data build is missing and the config names no source.
    """
    from dank.core.run import RunLayout

    steps = []
    data, layout = Path(experiment.data), RunLayout(experiment.run)
    if not (data / constants.CATALOGUE_FILE).is_file():
        if not experiment.source:
            raise DankError(
                f"{experiment.name}: data build {data} not found and the config "
                'names no "source" to build it from; run `make data` or '
                f"`dank data build --source DIR --out {data}`"
            )
        steps.append(("data", f"build {data} from {experiment.source}"))
    vision = layout.component_dir(constants.VISION_DIR)
    trained = layout.model_file(constants.VISION_DIR).is_file()
    if _needs_vision(experiment) and not trained:
        steps.append(
            ("vision", f"train vision (preset {experiment.preset}) into {vision}")
        )
    component = constants.language_dir(experiment.variant)
    language = layout.component_dir(component)
    trained = layout.model_file(component).is_file()
    resumed = layout.backup_dir(component).is_dir()
    if trained or resumed:
        check_trained_config(experiment)  # Never resume or reuse other settings.
    if not trained:
        verb = "resume" if resumed else "train"
        steps.append(
            (
                "language",
                f"{verb} caption model {experiment.variant} "
                f"(preset {experiment.preset}) into {language}",
            )
        )
    steps.append(("evaluate", f"evaluate into {result_path(experiment, results_dir)}"))
    return steps


def check_trained_config(experiment):
    """DankError when the run's caption model was trained with other settings.

    Compares ``run.json``'s record of the model with the experiment's preset
    plus overrides; fields an older dank did not record count as defaults.
    """
    from dank.models.language.config import LanguageConfig
    from dank.models.run import Run

    component = constants.language_dir(experiment.variant)
    recorded = Run.open(experiment.run).config(component)
    if not recorded:
        return
    wanted = {"preset": experiment.preset, **experiment.language_config().to_dict()}
    recorded = {**LanguageConfig().to_dict(), **recorded}
    # JSON keeps lists where the config holds tuples (adaptive_softmax).
    recorded.update(LanguageConfig.from_dict(recorded).to_dict())
    differ = sorted(
        k for k in wanted if k != "samples_every" and recorded.get(k) != wanted[k]
    )
    if differ:
        shown = ", ".join(
            f"{k}={recorded.get(k)!r} (wanted {wanted[k]!r})" for k in differ
        )
        raise DankError(
            f"{experiment.name}: {experiment.model_dir()} was trained with other "
            f"settings: {shown}. Remove that folder to retrain it, or point the "
            "experiment at another run directory."
        )


def check_same_build(experiment):
    """DankError unless the run was trained on the experiment's data build."""
    from dank.core.run import build_difference

    name = build_difference(experiment.run, experiment.data)
    if name is not None:
        raise DankError(
            f"{experiment.name}: {experiment.run} was not trained on "
            f'{experiment.data} ({name} differs); fix "run" or "data"'
        )


def data_info(data_dir):
    """What a data build is: path, source, templates, vocabulary, split sizes."""
    summary_file = Path(data_dir) / "summary.json"
    summary = (
        read_json(summary_file, "data build summary") if summary_file.is_file() else {}
    )
    return {
        "path": str(data_dir),
        "source": summary.get("source"),
        "templates": summary.get("templates"),
        "vocabulary": summary.get("vocab_size"),
        "captions_per_split": summary.get("captions_per_split"),
        "safety_filter": (summary.get("safety_filter") or {}).get("enabled"),
    }


def load_generation_metrics():
    """``dank.metrics.generation.generation_metrics``, or None if not installed."""
    try:
        from dank.metrics.generation import generation_metrics
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("dank.metrics"):
            raise
        return None
    return generation_metrics


def evaluate(experiment, generation=None):
    """The results dict of a trained experiment (see the module docstring).

    Args:
        experiment: an ``Experiment`` whose caption model is trained.
        generation: a callable with ``generation_metrics``' signature; default
            ``load_generation_metrics()``.
    """
    from dank.apps.reproduce.protocol import build_pairs, protocol_perplexity
    from dank.models.run import Run

    check_same_build(experiment)
    run = Run.open(experiment.run)
    component = constants.language_dir(experiment.variant)
    metrics = read_json(run.layout.metrics_file(component), "caption-model metrics")
    result = {
        "experiment": experiment.name,
        "description": experiment.description,
        "preset": experiment.preset,
        "variant": experiment.variant,
        "overrides": experiment.overrides,
        "run": str(run),
        "data": data_info(experiment.data),
        "machine": machine_info(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "dank_version": __version__,
        "heldout": metrics.get("test"),
        "training": {
            k: metrics.get(k)
            for k in (
                "epochs",
                "train_seconds_this_session",
                "train_tokens_per_second",
                "parameters",
            )
        },
        "not_run": {},
    }
    pairs = build_pairs(experiment.data)
    model = run.captioner(experiment.variant)
    result["protocol"] = {
        **protocol_perplexity(model, run.vocab, pairs),
        "pairs": [{k: p[k] for k in ("template_id", "text", "support")} for p in pairs],
    }
    vision = run.metrics(constants.VISION_DIR)
    if vision is not None:
        result["vision"] = {
            k: vision.get(k) for k in ("val_top1", "val_top5", "n_val", "image_size")
        }
    else:
        result["vision"] = None
        result["not_run"]["vision"] = f"{run} has no vision model"
    generation = generation or load_generation_metrics()
    if generation is None:
        result["generation"] = None
        result["not_run"]["generation"] = "dank.metrics.generation is not installed"
    else:
        result["generation"] = generation(
            run, experiment.data, variant=experiment.variant, **experiment.generation
        )
    return result


def run_experiment(
    experiment, results_dir=DEFAULT_RESULTS, generation=None, verbose=None
):
    """Trains what is missing, evaluates, writes ``results_dir/<name>.json``.

    Returns:
        The results dict.
    """
    for kind, description in plan(experiment, results_dir):
        log.info("%s: %s", experiment.name, description)
        if kind == "data":
            from dank.data.build import build_dataset

            build_dataset(experiment.source, experiment.data)
        elif kind == "vision":
            from dank.models.vision.config import get_config
            from dank.models.vision.train import train_vision

            train_vision(experiment.data, experiment.run, get_config(experiment.preset))
        elif kind == "language":
            from dank.models.language.train import train_language

            train_language(
                experiment.data,
                experiment.run,
                experiment.language_config(),
                preset=experiment.preset,
                verbose=verbose,
            )
    result = evaluate(experiment, generation)
    write_json(result_path(experiment, results_dir), result)
    return result
