"""Trains a caption model into a run directory.

Writes ``run/language/``: ``model.keras`` (atomically, at the end),
``metrics.json`` (validation and test perplexity per token and per word,
training tokens/s), ``backup/`` (``BackupAndRestore``: a killed run resumes at
its last finished epoch) and ``logs/`` (TensorBoard: loss, perplexity, learning
rate, tokens/s, sample captions and memes for a few fixed templates, the
hparams of the run, and a profiler trace with ``profile=True``).
"""

import logging
import os
import time
import warnings
from pathlib import Path

import keras

from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import atomic_path, write_json
from dank.core.progress import fit_verbosity
from dank.models.language.config import LanguageConfig
from dank.models.language.models import IMAGE_VARIANTS, CaptionModel, label_tokens_for

log = logging.getLogger(__name__)

SAMPLE_TEMPLATES = 4  # Templates (the most captioned) shown in TensorBoard samples.
# The trained model before its final evaluation; renamed to model.keras after.
UNEVALUATED_FILE = "unevaluated.keras"


def caption_batches(data_dir, split, config, shuffle=True, seed=0, static_shapes=False):
    """``(x, y[, weight])`` batches for ``model.fit``: inputs, shifted targets.

    ``x = {"tokens": tokens[:, :-1], "label": label}``, ``y = tokens[:, 1:]``;
    with ``weight_by_upvotes`` the third element weights each caption by
    ``0.5 + upvote percentile`` (so 0.5..1.5); on a build made with the safety
    filter's ``"downweight"`` mode it is (also) multiplied by the caption's
    stored loss weight (flagged captions 0.1).

    ``static_shapes`` (for XLA) pads each length bucket to its boundary, so
    that the compiled step sees a few fixed shapes; training batches then drop
    each bucket's last, smaller batch.
    """
    from dank.data.pipeline import caption_dataset
    from dank.safety.training import is_downweighted

    if config.unroll and not config.max_len:
        raise ValueError("unroll=True needs a fixed max_len (static sequence length)")
    ds = caption_dataset(
        data_dir,
        split,
        config.batch_size,
        shuffle=shuffle,
        seed=seed,
        max_len=config.max_len or None,
        bucket=not config.max_len,
        static_shapes=static_shapes,
        drop_remainder=static_shapes and shuffle,
    )
    weighted, downweighted = config.weight_by_upvotes, is_downweighted(data_dir)

    def to_xy(batch):
        import tensorflow as tf

        tokens = batch["tokens"]
        x = {"tokens": tokens[:, :-1], "label": batch["label"]}
        weight = batch["weight"] if downweighted else None
        if weighted:
            upvotes = 0.5 + tf.clip_by_value(batch["score"], 0.0, 1.0)
            weight = upvotes if weight is None else weight * upvotes
        return (x, tokens[:, 1:]) if weight is None else (x, tokens[:, 1:], weight)

    return ds.map(to_xy)


def make_optimizer(config):
    """The preset's optimiser with global-norm gradient clipping."""
    optimizers = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}
    kind = optimizers[config.optimizer]
    return kind(
        learning_rate=config.learning_rate, global_clipnorm=config.clipnorm or None
    )


def learning_rate_at(config, epoch):
    """The step schedule: ``lr * lr_decay ** (epoch // lr_decay_epochs)``."""
    if not config.lr_decay_epochs:
        return config.learning_rate
    return config.learning_rate * config.lr_decay ** (epoch // config.lr_decay_epochs)


def build_model(config, catalogue, vocab, run_dir=None, data_dir=None, embeddings=None):
    """A fresh ``CaptionModel`` for this catalogue/vocabulary (image table filled)."""
    label_tokens = label_tokens_for(catalogue, vocab)
    model = CaptionModel(config, len(vocab), len(catalogue), label_tokens=label_tokens)
    if config.variant in IMAGE_VARIANTS:
        from dank.models.language.features import template_features

        model.set_template_images(template_features(run_dir, data_dir, len(catalogue)))
    if embeddings:
        from dank.models.language.glove import apply_glove

        found = apply_glove(model, embeddings, vocab)
        log.info(
            "GloVe: %d of %d words initialised from %s", found, len(vocab), embeddings
        )
    return model


def train_language(
    data_dir,
    run_dir,
    config,
    preset=None,
    strategy="default",
    logical_cpus=0,
    embeddings=None,
    callbacks=(),
    verbose=None,
    profile=False,
    jit_compile="off",
    force=False,
):
    """Trains (or resumes, or skips a finished) caption model of ``run_dir``.

    A finished run (``model.keras`` and ``metrics.json``) is not retrained
    unless ``force``; a run killed during its final evaluation resumes there.

    Args:
        data_dir: a data build.
        run_dir: the run directory (``run/language`` is written).
        config: a ``LanguageConfig``.
        preset: the preset's name, recorded in ``run.json``.
        strategy: ``dank.core.distribute`` strategy name. Made before anything else
            runs TensorFlow; on a multi-worker run only the chief writes.
        logical_cpus: split the CPU into this many devices (tests of mirrored).
        embeddings: optional local GloVe text file.
        callbacks: extra Keras callbacks (run after the backup is written).
        verbose: ``model.fit`` verbosity; None shows a bar with an ETA on a
            terminal and one line per epoch otherwise.
        profile: record a profiler trace of a few batches into ``logs/train``.
        jit_compile: ``"auto"``, ``"on"`` or ``"off"`` (or a bool): XLA for the
            training step (``dank.core.distribute.resolve_jit_compile``).
        force: retrain a finished run from scratch.

    Returns:
        The metrics dict written to ``metrics.json``.
    """
    from dank.core.distribute import get_strategy, run_writer
    from dank.core.run import undo_on_error

    if not isinstance(config, LanguageConfig):
        raise TypeError("config must be a LanguageConfig")
    dist = get_strategy(strategy, logical_cpus=logical_cpus)  # Before any TF op.
    component = constants.language_dir(config.variant)
    with run_writer(dist, run_dir) as writer_run, undo_on_error(writer_run, component):
        return _train(
            dist,
            data_dir,
            writer_run,
            config,
            preset=preset,
            strategy=strategy,
            embeddings=embeddings,
            callbacks=callbacks,
            verbose=verbose,
            profile=profile,
            jit_compile=jit_compile,
            force=force,
        )


def _train(
    dist,
    data_dir,
    run_dir,
    config,
    preset,
    strategy,
    embeddings,
    callbacks,
    verbose,
    profile,
    jit_compile,
    force,
):
    from dank.core.distribute import compile_model, resolve_jit_compile, xla_errors
    from dank.core.run import finished_metrics, prepare_run
    from dank.core.summaries import (
        ProfileBatches,
        Throughput,
        write_final,
        write_hparams,
    )
    from dank.data.pipeline import load_captions, load_catalogue, load_vocab
    from dank.models.language.perplexity import evaluate_captions
    from dank.models.language.samples import SampleCaptions

    jit = (
        jit_compile
        if isinstance(jit_compile, bool)
        else resolve_jit_compile(jit_compile)
    )
    out = Path(run_dir) / constants.language_dir(config.variant)
    done = finished_metrics(out, force)
    if done is not None:
        return done
    vocab = load_vocab(data_dir)
    fitted = config.for_vocabulary(len(vocab))
    if fitted != config:
        log.info(
            "language: adaptive softmax cutoffs %s for this %d-token vocabulary "
            "(the preset has %s)",
            fitted.adaptive_softmax or "none (full softmax)",
            len(vocab),
            config.adaptive_softmax,
        )
        config = fitted
    out = prepare_run(
        run_dir,
        data_dir,
        constants.language_dir(config.variant),
        {"preset": preset, **config.to_dict()},
    )
    catalogue = load_catalogue(data_dir)
    train_captions = load_captions(data_dir, "train")
    if not train_captions:
        raise DankError(f"{data_dir} has no training captions; rebuild the data")
    tokens_per_epoch = sum(len(c["tokens"]) - 1 for c in train_captions)
    if config.steps_per_epoch:  # A fixed number of batches, not a full pass.
        per_caption = tokens_per_epoch / len(train_captions)
        tokens_per_epoch = config.steps_per_epoch * config.batch_size * per_caption

    with dist.scope():
        model = build_model(config, catalogue, vocab, run_dir, data_dir, embeddings)
        compile_model(model, optimizer=make_optimizer(config), jit_compile=jit)
    rate = Throughput(tokens_per_epoch, "tokens_per_second")
    pending = out / UNEVALUATED_FILE
    history, seconds = None, 0.0
    if pending.is_file():  # Killed during the final evaluation: resume there.
        log.info("language: %s is trained; evaluating it", pending)
        model = keras.saving.load_model(pending)
    else:
        labels = sorted(range(len(catalogue)), key=lambda i: -catalogue[i].n_captions)
        logs = out / constants.LOGS_DIR
        write_hparams(
            logs,
            {"preset": preset, **config.to_dict()},
            trial_id=f"{out.parent.name}/{out.name}",
        )
        all_callbacks = [
            keras.callbacks.BackupAndRestore(str(out / constants.BACKUP_DIR)),
            keras.callbacks.LearningRateScheduler(
                lambda e: learning_rate_at(config, e)
            ),
            rate,  # Before TensorBoard, which logs the rate it adds.
            # Epoch scalars in logs/train and logs/validation (epoch_loss, ...).
            keras.callbacks.TensorBoard(str(logs), write_graph=False),
            SampleCaptions(
                logs,
                catalogue,
                vocab,
                labels[:SAMPLE_TEMPLATES],
                every=config.samples_every,
                run_dir=run_dir,
            ),
            *([ProfileBatches(logs / "train")] if profile else []),
            *callbacks,
        ]
        start = time.perf_counter()
        train = caption_batches(
            data_dir, "train", config, shuffle=True, static_shapes=jit
        )
        if config.steps_per_epoch:
            train = train.repeat()
        with xla_errors(jit), warnings.catch_warnings():
            # Keras learns the length of a dataset of unknown cardinality (the
            # validation split, a full-pass training split) by running off its
            # end, and warns each time it does; that end is expected here.
            warnings.filterwarnings("ignore", "Your input ran out of data")
            history = model.fit(
                train,
                validation_data=caption_batches(
                    data_dir, "val", config, shuffle=False, static_shapes=jit
                ),
                epochs=config.epochs,
                steps_per_epoch=config.steps_per_epoch or None,
                shuffle=False,  # The dataset shuffles itself (seeded).
                callbacks=all_callbacks,
                verbose=fit_verbosity() if verbose is None else verbose,
            )
        seconds = time.perf_counter() - start
        with atomic_path(pending) as tmp:
            model.save(tmp)
    metrics = {
        "variant": config.variant,
        "preset": preset,
        "epochs": config.epochs,
        "epochs_this_session": len(history.epoch) if history else 0,
        "train_seconds_this_session": round(seconds, 1),
        "train_tokens_per_second": round(rate.steady_rate(), 1) if history else None,
        "parameters": int(model.count_params()),
        "strategy": strategy,
        "replicas": int(dist.num_replicas_in_sync),
        "jit_compile": {"flag": str(jit_compile), "on": bool(jit)},
    }
    for split in ("val", "test"):
        metrics[split] = evaluate_captions(model, load_captions(data_dir, split))
    # The classical models to beat, fitted on the same training split and scored
    # on the same test captions with the same tokens (``dank summary`` shows them).
    from dank.models.ngram import evaluate_baselines

    metrics["baselines"] = {"test": evaluate_baselines(data_dir, "test")}
    write_json(out / constants.METRICS_FILE, metrics)
    write_final(
        out / constants.LOGS_DIR,
        config.epochs,
        {
            "val_perplexity": metrics["val"]["perplexity"],
            "test_perplexity": metrics["test"]["perplexity"],
            "test_perplexity_per_word": metrics["test"]["perplexity_per_word"],
            **(
                {"tokens_per_second": metrics["train_tokens_per_second"]}
                if history
                else {}
            ),
        },
    )
    os.replace(pending, out / constants.MODEL_FILE)  # Last: marks the run finished.
    log.info(
        "language model saved to %s: test perplexity %.2f (per word %.2f)",
        out / constants.MODEL_FILE,
        metrics["test"]["perplexity"],
        metrics["test"]["perplexity_per_word"],
    )
    return metrics
