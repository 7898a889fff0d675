"""Trains the template classifier into ``run_dir/vision``.

Phases: with pretrained backbone weights, the head trains alone first and then
everything is unfrozen; with ``small_size`` (progressive resizing) the first
steps train at a smaller input size; otherwise there is one phase. Each phase runs
``model.fit`` under the chosen ``tf.distribute`` strategy with
``BackupAndRestore`` (one Keras epoch = ``steps_per_epoch`` steps), so a killed
run resumes at its last completed epoch. After training, BatchNorm statistics
are re-estimated on fresh batches (short runs otherwise collapse at evaluation
because the moving averages lag the weights), the head is fitted again on the
inference-mode embeddings where the config asks for it (``refit.py``), the
known/unknown threshold is calibrated on the validation set, and the model is
saved atomically. Each of those steps resumes from a file if the run is killed.
"""

import importlib.util
import logging
import math
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from dank.core import constants
from dank.core.distribute import (
    compile_model,
    get_strategy,
    resolve_jit_compile,
    run_writer,
    xla_errors,
)
from dank.core.io import atomic_path, write_json
from dank.core.machine import onednn_bfloat16
from dank.core.progress import fit_verbosity
from dank.core.run import finished_metrics, prepare_run, undo_on_error
from dank.core.summaries import (
    ProfileBatches,
    Throughput,
    write_final,
    write_hparams,
)
from dank.data.pipeline import load_catalogue
from dank.models.vision import calibrate, data
from dank.models.vision.imprint import imprint_head
from dank.models.vision.model import (
    backbone,
    build_model,
    inference_function,
    load_pretrained,
    training_model,
)
from dank.models.vision.refit import refit_head
from dank.models.vision.weights import resolve_weights

log = logging.getLogger(__name__)

HEAD_DONE_FILE = "head_done.weights.h5"
SMALL_DONE_FILE = "small_done.weights.h5"  # Progressive resizing's first phase.
# The trained model before its final evaluation; renamed to model.keras after.
UNEVALUATED_FILE = "unevaluated.keras"
# Trained, BatchNorm statistics re-estimated, the head not yet fitted again.
UNREFITTED_FILE = "unrefitted.keras"
REFIT_SEED_OFFSET = 123  # The memes the head is fitted again on.
BATCH_LOG_EVERY = 10  # Steps between batch-level TensorBoard scalars (at most).


class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` over ``warmup`` steps, then cosine decay to 0.

    ``offset`` continues a schedule in a later phase (a new optimizer counts
    from 0): step ``s`` is the schedule's step ``s + offset``, and the phase's
    own first ``warmup`` steps ramp up to it (Adam's moments start afresh)."""

    def __init__(self, peak, warmup, total, offset=0):
        self.peak, self.warmup, self.total, self.offset = (
            float(peak),
            int(warmup),
            max(1, int(total)),
            int(offset),
        )

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = self.peak * (step + 1.0) / max(1, self.warmup)
        progress = keras.ops.clip(
            (step + self.offset - self.warmup) / max(1, self.total - self.warmup),
            0.0,
            1.0,
        )
        cosine = 0.5 * self.peak * (1.0 + keras.ops.cos(np.pi * progress))
        return keras.ops.where(
            step < self.warmup, keras.ops.minimum(warm, cosine), cosine
        )

    def get_config(self):
        return {
            "peak": self.peak,
            "warmup": self.warmup,
            "total": self.total,
            "offset": self.offset,
        }


class _StepCounter(keras.callbacks.Callback):
    """Counts the steps actually run in this process (a resumed run skips some)."""

    def __init__(self):
        super().__init__()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1


def reestimate_batchnorm(model, batches, n_batches):
    """Replaces BatchNorm moving statistics by their average over fresh batches.

    Each batch runs one compiled forward pass in training mode with every
    layer's momentum at 0, so the moving mean and variance hold that batch's
    statistics; their average over the batches replaces them (precise BN).

    Args:
        model: a classifier from ``build_model``.
        batches: a dataset of (images, labels) batches.
        n_batches: how many batches to average over.
    """
    norms = [
        layer
        for layer in backbone(model).layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    saved = [layer.momentum for layer in norms]
    stats = []  # Per batch: every layer's (mean, variance).
    try:
        for layer in norms:
            layer.momentum = 0.0  # Read when the forward pass is traced.
        forward = tf.function(lambda x: model(x, training=True))
        for images, _ in batches.take(n_batches):
            forward(images)
            stats.append(
                [
                    (np.asarray(n.moving_mean), np.asarray(n.moving_variance))
                    for n in norms
                ]
            )
    finally:
        for layer, momentum in zip(norms, saved):
            layer.momentum = momentum
    for layer, per_batch in zip(norms, zip(*stats)):
        means, variances = zip(*per_batch)
        layer.moving_mean.assign(np.mean(means, axis=0))
        layer.moving_variance.assign(np.mean(variances, axis=0))


def predict_arrays(forward, batches):
    """Runs ``forward`` (an ``inference_function``) over a dataset of images
    (or (images, labels)).

    Returns:
        (probs [N, n], embeddings [N, 2048], labels [N] or None).
    """
    probs, embeddings, labels = [], [], []
    for item in batches:
        images = item[0] if isinstance(item, tuple) else item
        out = forward(images)
        probs.append(tf.nn.softmax(out["logits"]).numpy())
        embeddings.append(out["embedding"].numpy())
        if isinstance(item, tuple):
            labels.append(item[1].numpy())
    return (
        np.concatenate(probs),
        np.concatenate(embeddings),
        np.concatenate(labels) if labels else None,
    )


def topk_accuracy(probs, labels, k):
    """Share of rows whose label is among the ``k`` most probable classes."""
    top = np.argsort(-probs, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def _log_callbacks(logs_dir, name, config, profile=False):
    """TensorBoard logs when TensorBoard is installed, else a CSV per phase.

    Each epoch logs loss, top-1/top-5 accuracy, learning rate and images/s
    (``logs/<phase>/train``); ``profile`` adds a profiler trace of a few batches.
    """
    logs_dir.mkdir(parents=True, exist_ok=True)
    rate = Throughput(config.steps_per_epoch * config.batch_size, "images_per_second")
    csv = keras.callbacks.CSVLogger(str(logs_dir / f"{name}.csv"), append=True)
    if importlib.util.find_spec("tensorboard") is None:
        log.warning("tensorboard is not installed; logging %s to %s.csv", name, name)
        return [rate, csv]
    # Keras records epoch scalars only when the last batch's global index is a
    # multiple of update_freq (its batch-level record_if is still active), so
    # the batch interval must divide the epoch length.
    every = math.gcd(BATCH_LOG_EVERY, config.steps_per_epoch)
    board = keras.callbacks.TensorBoard(str(logs_dir / name), update_freq=every)
    trace = [ProfileBatches(logs_dir / name / "train")] if profile else []
    return [rate, csv, board, *trace]


def _fit_phase(
    train_model,
    dataset,
    config,
    steps,
    out_dir,
    name,
    callbacks,
    profile,
    offset=0,
    total=None,
):
    """Runs one phase of ``steps`` steps with its own backup; returns steps run.

    The learning rate follows a schedule of ``total`` steps (default: this
    phase's) from its step ``offset`` on."""
    epochs = max(1, steps // config.steps_per_epoch)
    # Whole epochs (BackupAndRestore resumes per epoch); the schedule ends with them.
    steps = epochs * config.steps_per_epoch
    total = total or steps
    schedule = WarmupCosine(
        config.learning_rate, min(config.warmup_steps, steps // 2), total, offset
    )
    compile_model(
        train_model,
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing
        ),
        metrics=[
            keras.metrics.CategoricalAccuracy(name="top1"),
            keras.metrics.TopKCategoricalAccuracy(5, name="top5"),
        ],
        jit_compile=config.jit_compile,
    )
    counter = _StepCounter()
    backup = keras.callbacks.BackupAndRestore(
        str(out_dir / constants.BACKUP_DIR / name), save_freq="epoch"
    )
    train_model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=config.steps_per_epoch,
        shuffle=False,  # The dataset shuffles itself (Keras would warn and ignore).
        callbacks=[
            backup,
            *_log_callbacks(out_dir / constants.LOGS_DIR, name, config, profile),
            counter,
            *callbacks,
        ],
        verbose=fit_verbosity(),
    )
    return counter.steps


def train_vision(
    data_dir,
    run_dir,
    config,
    weights=None,
    strategy="default",
    mixed_precision=False,
    logical_cpus=0,
    callbacks=(),
    profile=False,
    jit_compile=None,
    force=False,
):
    """Trains, calibrates and saves the classifier; returns the metrics dict.

    A finished run is not retrained unless ``force``; a run killed during its
    final evaluation resumes there.

    Args:
        data_dir: a data build.
        run_dir: the run directory (created if missing).
        config: a ``VisionConfig``.
        weights: None (from scratch), ``"imagenet"`` or a weights file path.
        strategy: a ``dank.core.distribute.STRATEGIES`` name. Made before anything
            else runs TensorFlow; on a multi-worker run only the chief writes.
        mixed_precision: use float16 compute (for GPUs).
        logical_cpus: split the CPU into this many devices (testing ``mirrored``).
        callbacks: extra Keras callbacks for ``fit`` (tests use one to interrupt).
        profile: record a profiler trace of a few batches of each phase.
        jit_compile: ``"auto"``, ``"on"``, ``"off"``; None keeps the preset's.
        force: retrain a finished run from scratch.
    """
    if weights:
        resolve_weights(weights)  # Before the run directory is touched.
    dist = get_strategy(strategy, logical_cpus)  # Before any TensorFlow op.
    if jit_compile is not None:
        config = config.replace(jit_compile=resolve_jit_compile(jit_compile))
    with (
        run_writer(dist, run_dir) as writer_run,
        undo_on_error(writer_run, constants.VISION_DIR),
    ):
        out_dir = Path(writer_run) / constants.VISION_DIR
        done = finished_metrics(out_dir, force)
        if done is not None:
            return done
        settings = {
            **config.to_dict(),
            "weights": weights,
            "strategy": strategy,
            "mixed_precision": bool(mixed_precision),
        }
        out_dir = prepare_run(writer_run, data_dir, constants.VISION_DIR, settings)
        if mixed_precision:
            keras.mixed_precision.set_global_policy("mixed_float16")
        # XLA graphs and float16 ones keep their own precision.
        bf16 = (
            config.trains_in_bfloat16()
            and not config.jit_compile
            and not mixed_precision
        )
        pending = out_dir / UNEVALUATED_FILE
        unrefitted = out_dir / UNREFITTED_FILE
        train_seconds, steps_run, refitted = 0, 0, None
        if pending.is_file():  # Killed during the final evaluation: resume there.
            log.info("vision: %s is trained; evaluating it", pending)
            model = keras.saving.load_model(pending)
            unrefitted.unlink(missing_ok=True)
        elif unrefitted.is_file():  # Killed while the head was fitted again.
            log.info("vision: %s is trained; fitting its head again", unrefitted)
            model = keras.saving.load_model(unrefitted)
            refitted = _refit(model, data_dir, config, pending)
            unrefitted.unlink()
        else:
            write_hparams(
                out_dir / constants.LOGS_DIR,
                settings,
                trial_id=f"{out_dir.parent.name}/{out_dir.name}",
            )
            with xla_errors(config.jit_compile), onednn_bfloat16(bf16):
                model, train_seconds, steps_run = _train(
                    dist, data_dir, config, weights, out_dir, callbacks, profile
                )
            # In float32, as the model will run: statistics of its own activations.
            reestimate_batchnorm(
                model,
                data.train_dataset(data_dir, config, seed=config.seed + 99),
                config.bn_batches,
            )
            with atomic_path(unrefitted if config.refit_batches else pending) as tmp:
                model.save(tmp)
            for done in (HEAD_DONE_FILE, SMALL_DONE_FILE):
                (out_dir / constants.BACKUP_DIR / done).unlink(missing_ok=True)
            if config.refit_batches:
                refitted = _refit(model, data_dir, config, pending)
                unrefitted.unlink()
        metrics = _evaluate(model, data_dir, config, out_dir, steps_run, train_seconds)
        metrics.update(
            strategy=strategy,
            replicas=int(dist.num_replicas_in_sync),
            jit_compile={
                "flag": str(jit_compile or "preset"),
                "on": bool(config.jit_compile),
            },
            conv_dtype="bfloat16" if bf16 else "float32",
        )
        if refitted:
            metrics["head_refit"] = refitted
        write_json(out_dir / constants.METRICS_FILE, metrics)
        os.replace(pending, out_dir / constants.MODEL_FILE)  # Marks it finished.
        log.info("vision: %s", metrics)
        return metrics


def _train(dist, data_dir, config, weights, out_dir, callbacks, profile):
    """Both phases of training; returns ``(model, seconds, steps run)``."""
    n = len(load_catalogue(data_dir))
    backups = out_dir / constants.BACKUP_DIR
    with dist.scope():
        model = build_model(n, config.image_size, config.dropout, config.mirror)
        if weights:
            load_pretrained(model, weights)
            # A resumed run (it has backups) restores its own head instead.
            resuming = backups.is_dir() and any(backups.iterdir())
            if config.imprint and not resuming:
                stats = imprint_head(model, data.template_images(data_dir, config))
                log.info("vision: head imprinted from the templates: %s", stats)
        train_model = training_model(model)

    start, steps_run = time.perf_counter(), 0
    head_steps = min(config.head_steps, config.steps // 2) if weights else 0
    head_done, small_done = backups / HEAD_DONE_FILE, backups / SMALL_DONE_FILE
    steps = config.steps - head_steps  # Of the one schedule after the head.
    # Whole epochs, and at least one at the full size.
    epoch = config.steps_per_epoch
    small_steps = max(0, min(config.small_steps, steps - epoch)) // epoch * epoch
    small_steps = small_steps if config.small_size else 0
    phase = dict(config=config, out_dir=out_dir, callbacks=callbacks, profile=profile)
    with dist.scope():
        if head_steps and head_done.is_file():
            train_model.load_weights(head_done)
        elif head_steps:
            backbone(model).trainable = False
            steps_run += _fit_phase(
                train_model,
                _one_hot(data.train_dataset(data_dir, config), n),
                steps=head_steps,
                name="head",
                **phase,
            )
            backbone(model).trainable = True
            train_model.save_weights(head_done)
        if small_steps and small_done.is_file():
            train_model.load_weights(small_done)
        elif small_steps:
            steps_run += _small_phase(model, data_dir, n, small_steps, steps, phase)
            train_model.save_weights(small_done)
        steps_run += _fit_phase(
            train_model,
            _one_hot(data.train_dataset(data_dir, config), n),
            steps=steps - small_steps,
            name="full",
            offset=small_steps,
            total=steps,
            **phase,
        )
    return model, time.perf_counter() - start, steps_run


def _refit(model, data_dir, config, pending):
    """Fits ``model``'s head again (``refit.refit_head``), saves it to
    ``pending``; returns the fit's figures."""
    stats = refit_head(
        model,
        data.train_dataset(data_dir, config, seed=config.seed + REFIT_SEED_OFFSET),
        config.refit_batches,
        config.refit_c,
    )
    with atomic_path(pending) as tmp:
        model.save(tmp)
    return stats


def _one_hot(dataset, n):
    """``(images, labels)`` batches with one-hot labels over ``n`` templates."""
    return dataset.map(
        lambda x, y: (x, tf.one_hot(y, n)), num_parallel_calls=tf.data.AUTOTUNE
    )


def _small_phase(model, data_dir, n, steps, total, phase):
    """Progressive resizing: the first ``steps`` of the ``total``-step schedule
    on a copy of ``model`` built at ``config.small_size``, whose weights (all
    of them: ResNet50's do not depend on the input size) then go back into
    ``model``. Returns the steps run."""
    config = phase["config"]
    small_config = config.replace(image_size=config.small_size)
    small = build_model(n, config.small_size, config.dropout, config.mirror)
    small.set_weights(model.get_weights())
    log.info("vision: %d steps at %d px first", steps, config.small_size)
    run = _fit_phase(
        training_model(small),
        _one_hot(data.train_dataset(data_dir, small_config), n),
        steps=steps,
        name="small",
        total=total,
        **dict(phase, config=small_config),
    )
    model.set_weights(small.get_weights())
    return run


def _evaluate(model, data_dir, config, out_dir, steps_run, train_seconds):
    """Validation accuracy and the unknown threshold; logs them; returns metrics."""
    catalogue = load_catalogue(data_dir)
    # Cached: the hardest images are drawn from it again for TensorBoard.
    val = data.val_dataset(data_dir, config).cache()
    forward = inference_function(model)
    probs, _, labels = predict_arrays(forward, val)
    light, _, _ = predict_arrays(
        forward, data.val_dataset(data_dir, config, wild=False)
    )
    unknown_probs, _, _ = predict_arrays(forward, data.unknown_dataset(config))
    calibration = calibrate.choose_threshold(
        probs.max(axis=1),
        unknown_probs.max(axis=1),
        unknown_source=f"{config.val_unknown} synthetic colour-field/noise pictures",
    )
    write_json(out_dir / constants.CALIBRATION_FILE, calibration)
    metrics = {
        "val_top1": topk_accuracy(probs, labels, 1),
        "val_top5": topk_accuracy(probs, labels, 5),
        # The same memes without the effects of the wild (covering boxes,
        # watermarks, frames, other fonts, low-quality JPEG).
        "val_light_top1": topk_accuracy(light, labels, 1),
        "n_val": int(labels.size),
        "n_templates": len(catalogue),
        "image_size": config.image_size,
        "steps": config.steps,
        "steps_run_this_process": steps_run,
        "train_seconds": round(train_seconds, 1),
        "train_images_per_second": round(
            steps_run * config.batch_size / train_seconds, 2
        )
        if steps_run
        else None,
        "known_recall": calibration["known_recall"],
        "unknown_rejection": calibration["unknown_rejection"],
    }
    _log_final(
        out_dir / constants.LOGS_DIR,
        val,
        config,
        probs,
        labels,
        catalogue,
        metrics,
    )
    return metrics


def _log_final(logs_dir, val, config, probs, labels, catalogue, metrics):
    """TensorBoard at the end: the hardest validation images and final metrics."""
    from dank.models.vision.confusions import log_confusions

    log_confusions(
        logs_dir / "validation",
        config.steps,
        val,
        probs,
        labels,
        catalogue,
    )
    keys = (
        "val_top1",
        "val_top5",
        "known_recall",
        "unknown_rejection",
        "train_images_per_second",
    )
    write_final(logs_dir, config.steps, {k: metrics[k] for k in keys})


def default_paths():
    """The defaults of ``dank train vision``: (data dir, run dir)."""
    return Path("data/build/starter"), Path(constants.DEFAULT_RUN)
