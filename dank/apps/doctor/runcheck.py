"""Run checks: the run loads, its versions match, its models are sane.

Order matters: a run that does not load stops the rest; a run whose data build
cannot be found or differs skips the checks that need its images and captions.
"""

import json
import shlex
import zipfile
from pathlib import Path

from dank import __version__
from dank.apps.doctor import symptoms
from dank.apps.doctor.metrics import baseline_perplexity
from dank.apps.doctor.report import fail, guarded, ok, skip, warn
from dank.core import constants
from dank.core.errors import DankError

SANITY_TEMPLATES = 8  # Template pictures classified, spread over the catalogue.
SANITY_MIN_CORRECT = 0.5  # Share of them the classifier must name.
VAL_TOP1_FAIL = 0.2  # Below this (or 3x chance), the classifier is unusable...
VAL_TOP1_WARN = 0.5  # ...and below this, weak.
PERPLEXITY_CAPTIONS = 64  # Val captions scored again.
PERPLEXITY_DRIFT = 2.0  # Rescored/recorded ratio beyond which data and run differ.
UNIFORM_SHARE = 0.5  # Perplexity above this share of the vocabulary ~ guessing.
GENERATE_TEMPLATES = 8  # Templates captioned for the symptom checks...
GENERATE_PER_TEMPLATE = 3  # ...this many captions each (`dank generate -n 3`).


def _train_cmd(component, run_dir, info):
    preset = (info.get("components", {}).get(component) or {}).get("preset") or "cpu"
    run = shlex.quote(str(run_dir))
    return f"`dank train {component} --preset {preset} --run {run}`"


def model_keras_version(path):
    """The Keras version recorded inside a ``.keras`` file, or None."""
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("metadata.json")).get("keras_version")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def check_run_versions(run_dir, info):
    import keras

    from dank.models.run import Run

    layout = Run.open(run_dir).layout
    checks = []
    made = info.get("dank_version")
    if made != __version__:
        checks.append(
            warn(
                "dank version",
                f"run written by dank {made}, this is {__version__}",
                "the run predates an upgrade; it loads, but results may differ",
                f"retrain to be sure: `make train RUN={run_dir}`",
            )
        )
    else:
        checks.append(ok("dank version", f"{made}, same as installed"))
    # Package versions, where run.json records them ({"tensorflow": "2.21.0"}).
    from dank.apps.doctor.environment import installed_version

    recorded = info.get("versions") or {}
    differ = {
        name: (version, installed_version(name) or installed_version(f"{name}-cpu"))
        for name, version in recorded.items()
    }
    differ = {n: v for n, v in differ.items() if v[0] != v[1]}
    if differ:
        checks.append(
            warn(
                "package versions",
                "trained with "
                + ", ".join(
                    f"{n} {was} (now {now or 'missing'})"
                    for n, (was, now) in sorted(differ.items())
                ),
                "packages changed since the run was trained",
                "`make setup` returns to the pinned versions; or retrain",
            )
        )
    elif recorded:
        checks.append(ok("package versions", "same as when trained"))
    for component in (constants.VISION_DIR, constants.LANGUAGE_DIR):
        path = layout.model_file(component)
        if not path.is_file():
            continue
        saved = model_keras_version(path)
        if saved is None:
            checks.append(
                fail(
                    f"{component} model file",
                    f"{path} is not a readable .keras file",
                    "the file was truncated (an interrupted copy) or replaced",
                    _train_cmd(component, run_dir, info),
                )
            )
        elif saved.split(".")[:2] != keras.__version__.split(".")[:2]:
            checks.append(
                warn(
                    f"{component} Keras version",
                    f"saved with Keras {saved}, running {keras.__version__}",
                    "Keras changed since the run was trained",
                    f"`make setup` (pinned Keras) or retrain: "
                    f"{_train_cmd(component, run_dir, info)}",
                )
            )
        else:
            checks.append(ok(f"{component} Keras version", f"saved with {saved}"))
    return checks


def check_run_data(run_dir, info, data_dir):
    """The data build the run came from exists and has the run's catalogue."""
    from dank.core.run import build_difference
    from dank.models.run import Run

    run = Run.open(run_dir)
    name = "run's data build"
    try:
        data_dir = run.data_build(data_dir)
    except DankError:
        data_dir = Path(data_dir or run.data_dir or "")
        return warn(
            name,
            f"{data_dir} not found; checks that need its images and "
            "captions are skipped",
            "the data build was moved or deleted",
            "`make data`, or pass `--data DIR` of the build the run was trained on",
        )
    file = build_difference(run.path, data_dir)
    if file is not None:
        return fail(
            name,
            f"{run_dir}/{file} differs from {data_dir}/{file}",
            "the run was trained on another data build (wrong run or wrong "
            "--data), or the data was rebuilt since",
            f"pass `--data` of the run's own build, or retrain: "
            f"`make train RUN={run_dir}`",
        )
    return ok(name, f"{data_dir} matches the run's catalogue and vocabulary")


def check_vision(run_dir, data_dir, info):
    from dank.data.pipeline import image_dataset
    from dank.models.run import Run

    run = Run.open(run_dir)
    fix = _train_cmd(constants.VISION_DIR, run_dir, info)
    checks = []
    metrics = run.metrics(constants.VISION_DIR)
    classifier = run.classifier
    n = len(classifier.catalogue)
    if metrics and "val_top1" in metrics:
        top1 = float(metrics["val_top1"])
        message = f"val top-1 {top1:.1%} over {n} templates (chance {1 / n:.1%})"
        if top1 < max(VAL_TOP1_FAIL, 3 / n):
            checks.append(
                fail(
                    "vision accuracy",
                    message,
                    "undertrained: too few steps, or "
                    "trained from scratch without pretrained weights",
                    fix,
                    val_top1=top1,
                )
            )
        elif top1 < VAL_TOP1_WARN:
            checks.append(
                warn(
                    "vision accuracy",
                    message,
                    "a weak classifier; more steps or `--weights imagenet` help",
                    fix,
                    val_top1=top1,
                )
            )
        else:
            checks.append(ok("vision accuracy", message, val_top1=top1))
    else:
        checks.append(
            fail(
                "vision accuracy",
                "no val_top1 in vision/metrics.json",
                "training stopped before evaluating",
                fix,
            )
        )
    if data_dir is None:
        checks.append(skip("template sanity", "no data build to take pictures from"))
        return checks
    k = min(SANITY_TEMPLATES, n)
    wanted = {round(i * (n - 1) / max(k - 1, 1)) for i in range(k)}
    pictures = {}
    for item in image_dataset(data_dir):
        label = int(item["label"])
        if label in wanted:
            pictures[label] = item["image"].numpy()
    labels = sorted(pictures)
    probs, _ = classifier.predict([pictures[label] for label in labels])
    right = [label for label, row in zip(labels, probs) if int(row.argmax()) == label]
    message = f"names {len(right)} of {len(labels)} template pictures correctly"
    if len(right) < SANITY_MIN_CORRECT * len(labels):
        checks.append(
            fail(
                "template sanity",
                message,
                "undertrained, or the model and catalogue come from different runs",
                fix,
                correct=len(right),
                total=len(labels),
            )
        )
    else:
        checks.append(
            ok("template sanity", message, correct=len(right), total=len(labels))
        )
    return checks


def check_language(run_dir, data_dir, info):
    from dank.data.pipeline import load_captions
    from dank.models.language.perplexity import evaluate_captions
    from dank.models.run import Run

    run = Run.open(run_dir)
    fix = _train_cmd(constants.LANGUAGE_DIR, run_dir, info)
    metrics = run.metrics(constants.LANGUAGE_DIR) or {}
    recorded = (metrics.get("val") or {}).get("perplexity")
    model, vocab = run.captioner(), run.vocab
    if data_dir is None:
        if recorded is None:
            return fail(
                "caption perplexity",
                "no val perplexity recorded",
                "training stopped before evaluating",
                fix,
            )
        return ok("caption perplexity", f"val {recorded:.1f} (recorded)")
    captions = load_captions(data_dir, "val")[:PERPLEXITY_CAPTIONS]
    if not captions:
        return skip("caption perplexity", f"{data_dir} has no val captions")
    ppl = evaluate_captions(model, captions)["perplexity"]
    message = f"{ppl:.1f} on {len(captions)} val captions"
    if recorded is not None:
        message += f" (recorded val: {recorded:.1f})"
    baseline = baseline_perplexity(metrics, "val") or baseline_perplexity(metrics)
    if baseline:
        message += f"; {baseline[0]} baseline {baseline[1]:.1f}"
    data = {"perplexity": ppl, "recorded": recorded, "vocab": len(vocab)}
    if ppl >= UNIFORM_SHARE * len(vocab):
        return fail(
            "caption perplexity",
            message + f", vocabulary {len(vocab)}",
            "barely better than guessing words uniformly: undertrained",
            fix,
            **data,
        )
    if recorded is not None and ppl > PERPLEXITY_DRIFT * recorded:
        return fail(
            "caption perplexity",
            message,
            "far worse than when it was trained: the run and the data build "
            "do not belong together (wrong run)",
            f"pass `--data` of the run's own build, or retrain: {fix}",
            **data,
        )
    if baseline and recorded is not None and recorded > baseline[1]:
        return warn(
            "caption perplexity",
            message,
            "the LSTM is worse than the count-based baseline: undertrained",
            fix,
            **data,
        )
    return ok("caption perplexity", message, **data)


def template_pictures(data_dir, labels):
    """JPEG bytes of the build's template pictures for ``labels`` (a blank
    picture stands in where there is no build)."""
    import numpy as np
    from PIL import Image

    from dank.core.images import to_jpeg

    if data_dir is None:
        blank = to_jpeg(Image.new("RGB", (64, 64), "gray"))
        return {label: blank for label in labels}
    from dank.data.pipeline import image_dataset

    out = {}
    for item in image_dataset(data_dir):
        label = int(item["label"])
        if label in labels:
            out[label] = to_jpeg(Image.fromarray(np.asarray(item["image"])))
    return out


def sample_captions(
    run_dir,
    data_dir,
    n_templates=GENERATE_TEMPLATES,
    per_template=GENERATE_PER_TEMPLATE,
    seed=0,
):
    """Captions the run writes for its most captioned templates.

    Returns:
        ``(samples, unk_probe)``: ``Sample`` lists from the paper's diverse beam
        (what ``dank generate`` uses) and from greedy decoding with ``<unk>``
        allowed (the diverse beam hides ``<unk>``, greedy shows what the model
        would say).
    """
    import dataclasses

    from dank.cascade.generator import MemeGenerator
    from dank.decoding.config import PRESETS

    paper = PRESETS["paper"]
    diverse = paper.returning(paper.beam_size)
    greedy = dataclasses.replace(
        PRESETS["greedy"], max_len=paper.max_len, suppress_unk=False
    )
    generator = MemeGenerator(run_dir, diverse)  # Loaded once for both decoders.
    ranked = sorted(generator.catalogue, key=lambda t: -t.n_captions)
    chosen = ranked[:n_templates]
    pictures = template_pictures(data_dir, {t.label for t in chosen})
    out = []
    for config, n in ((diverse, per_template), (greedy, 1)):
        samples = []
        for t in chosen:
            memes = generator.for_images(
                [(t.id, pictures[t.label])],
                n=n,
                seed=seed,
                template=t.id,
                decode_config=config,
            )[0]
            samples += [symptoms.Sample(t.id, m.top, m.bottom) for m in memes]
        out.append(samples)
    return out[0], out[1]


def training_keys(data_dir):
    """``caption_key`` of every training caption of a build (None without one)."""
    from dank.data.pipeline import load_captions
    from dank.data.text import caption_key

    if data_dir is None:
        return None
    train = load_captions(data_dir, "train")
    return {caption_key(c["top"], c["bottom"]) for c in train}


def check_generation(run_dir, data_dir, info):
    samples, unk_probe = sample_captions(run_dir, data_dir)
    language = info.get("components", {}).get(constants.LANGUAGE_DIR) or {}
    top = samples[0].template if samples else "TEMPLATE"
    fixes = symptoms.default_fixes(
        run_dir,
        top,
        preset=language.get("preset") or "cpu",
        epochs=language.get("epochs") or 6,
    )
    found = symptoms.find_symptoms(
        samples, training_keys(data_dir), fixes, unk_samples=unk_probe
    )
    shown = "; ".join(f"{s.top} / {s.bottom}" for s in samples[:3])
    return [
        ok(
            "generation",
            f"{len(samples)} captions, e.g. {shown}",
            samples=[s.__dict__ for s in samples],
        ),
        *found,
    ]


def run_checks(run_dir, data_dir=None):
    """Every run check, in reading order; ``data_dir`` None means run.json's."""
    from dank.models.run import Run

    try:
        run = Run.open(run_dir)
    except DankError as e:
        return [
            fail(
                "run",
                str(e),
                "not a (current) run directory",
                f"train one: `make train RUN={run_dir}`",
            )
        ]
    info = run.info
    parts = sorted(info.get("components", {}))
    checks = [ok("run", f"{run_dir} loads ({', '.join(parts) or 'no components'})")]
    checks += guarded("versions", check_run_versions, run, info)
    data_check = guarded("run's data build", check_run_data, run, info, data_dir)
    checks += data_check
    usable = data_check[0].status == "ok"
    data = run.data_build(data_dir) if usable else None
    have = {c: run.has(c) for c in (constants.VISION_DIR, constants.LANGUAGE_DIR)}
    for component, check in (
        (constants.VISION_DIR, check_vision),
        (constants.LANGUAGE_DIR, check_language),
    ):
        if have[component]:
            checks += guarded(f"{component} model", check, run, data, info)
        else:
            checks.append(
                fail(
                    f"{component} model",
                    f"{run_dir} has no trained {component} model",
                    "training did not run or did not finish",
                    _train_cmd(component, run_dir, info),
                )
            )
    if all(have.values()):
        checks += guarded("generation", check_generation, run, data, info)
    else:
        checks.append(skip("generation", "needs both models"))
    return checks
