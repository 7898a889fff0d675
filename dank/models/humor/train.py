"""``train_humor``: fit the humour model of a run on a data build.

The run gets ``humor/model.keras`` and ``humor/metrics.json``; the config goes
into ``run.json`` (``dank.core.run.prepare_run``), like the other components.
"""

import hashlib
import logging
import time
from pathlib import Path

import numpy as np

from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import atomic_path, write_json
from dank.models.humor import examples as ex
from dank.models.humor.config import HUMOR_DIR
from dank.models.humor.metrics import spearman
from dank.models.humor.targets import compute_target

log = logging.getLogger(__name__)


def split_targets(data, config):
    """The training target of every caption in ``data`` (``load_examples`` output)."""
    if config.target == "percentile" and np.isnan(data["upvotes"]).all():
        return np.asarray(
            data["score"], dtype=np.float64
        )  # The build's own percentile.
    return compute_target(
        config.target, data["upvotes"], data["views"], data["label"], config.prior_views
    )


def _arrays(data, config, n_templates, rng=None):
    """Model inputs and targets; with ``rng``, adds template-dropout copies."""
    tokens = ex.pad(data["tokens"], config.max_len)
    labels = np.asarray(data["label"], dtype=np.int32)
    y = split_targets(data, config).astype(np.float32)
    if rng is not None and config.template_dropout > 0:
        pick = np.flatnonzero(rng.random(len(labels)) < config.template_dropout)
        tokens = np.concatenate([tokens, tokens[pick]])
        labels = np.concatenate([labels, np.full(len(pick), n_templates, np.int32)])
        y = np.concatenate([y, y[pick]])
        order = rng.permutation(len(labels))
        tokens, labels, y = tokens[order], labels[order], y[order]
    return {"tokens": tokens, "label": labels}, y


def file_digest(path):
    """sha256 of a file (records which holdout a model was trained without)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train_humor(
    data_dir, run_dir, config, source=None, holdout=None, votes=None, jit_compile="off"
):
    """Trains the humour model of ``run_dir`` on the build ``data_dir``.

    Args:
        data_dir: a data build.
        run_dir: the run directory (created or extended).
        config: a ``HumorConfig``.
        source: the source folder to read upvotes and views from; default the
            build's records, or for a build older than those, the source named
            in its ``summary.json``.
        holdout: a CSV of captions never to train on (the crowd ratings).
        votes: ``examples.source_votes(source, catalogue)`` when already read
            (experiments training several targets read the source once), or
            ``examples.RECORDS``.
        jit_compile: ``"auto"``, ``"on"`` or ``"off"``: XLA for training.

    Returns:
        The metrics dict also written to ``humor/metrics.json``.

    Raises:
        DankError: no source with views for an exposure-corrected target, or no
            scored captions.
    """
    import keras

    from dank.core.distribute import compile_model, resolve_jit_compile
    from dank.core.run import prepare_run
    from dank.data.pipeline import load_catalogue, load_vocab
    from dank.models.humor.model import build_humor_model

    start = time.time()
    catalogue, vocab = load_catalogue(data_dir), load_vocab(data_dir)
    if votes is None and not source and ex.stores_votes(data_dir):
        votes = ex.RECORDS  # Read once, by the build.
    source = Path(source) if source else ex.build_source(data_dir)
    if votes is None and source is None and config.target != "percentile":
        raise DankError(
            f"the {config.target!r} target needs views, which {data_dir} does not "
            f"store (an older build); pass --source DIR (the folder it was built "
            "from), rebuild it, or use --target percentile"
        )
    if votes is None and source:
        votes = ex.source_votes(source, catalogue)
    exclude = ex.holdout_keys(holdout) if holdout else frozenset()
    train = ex.load_examples(data_dir, "train", votes, exclude)
    val = ex.load_examples(data_dir, "val", votes, exclude)
    if len(train["label"]) < 2:
        raise DankError(f"{data_dir} has fewer than 2 scored training captions")
    for data in (train, val):
        for name in ("upvotes", "views"):
            data[name] = np.asarray(data[name], dtype=np.float64)
    rng = np.random.default_rng(config.seed)
    x, y = _arrays(train, config, len(catalogue), rng)
    keras.utils.set_random_seed(config.seed)
    model = build_humor_model(config, len(vocab), len(catalogue))
    jit = resolve_jit_compile(jit_compile)
    compile_model(
        model,
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="mse",
        jit_compile=jit,
    )
    validation = None
    if len(val["label"]) >= 2:
        validation = _arrays(val, config, len(catalogue))
    callbacks = []
    if validation is not None and config.patience > 0:
        # Upvote targets are noisy: the validation loss turns up after an epoch
        # or two on the full data, so keep the best epoch's weights.
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=config.patience,
                restore_best_weights=True,
            )
        )
    history = model.fit(
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=True,
        validation_data=validation,
        callbacks=callbacks,
        verbose=2,
    )
    sub = prepare_run(run_dir, data_dir, HUMOR_DIR, config.to_json())
    with atomic_path(sub / constants.MODEL_FILE) as tmp:
        model.save(tmp)
    metrics = {
        "jit_compile": {"flag": jit_compile, "on": jit},
        "target": config.target,
        "source": str(source) if source else None,
        "holdout": str(holdout) if holdout else None,
        "holdout_sha256": file_digest(holdout) if holdout else None,
        "excluded_holdout_captions": train["excluded"] + val["excluded"],
        "train_captions": len(train["label"]),
        "val_captions": len(val["label"]),
        "loss": [float(v) for v in history.history["loss"]],
        "val_loss": [float(v) for v in history.history.get("val_loss", [])],
        "seconds": round(time.time() - start, 1),
    }
    if validation is not None:
        pred = model.predict(validation[0], batch_size=1024, verbose=0)
        metrics["val_spearman_target"] = spearman(pred, validation[1])
        metrics["val_spearman_upvotes"] = (
            spearman(pred, val["upvotes"])
            if not np.isnan(val["upvotes"]).all()
            else None
        )
    write_json(sub / constants.METRICS_FILE, metrics)
    log.info("humour model: %s", {k: metrics[k] for k in ("loss", "val_loss")})
    return metrics
