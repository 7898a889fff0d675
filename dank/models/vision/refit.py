"""Fits the classifier's head again on the finished backbone's embeddings.

The head trains beside a backbone that sees each batch in training mode:
BatchNorm with the batch's own statistics, dropout on the embedding and, on
CPUs with AVX512_BF16, bfloat16 convolutions. The model then runs in
inference mode, float32, with BatchNorm statistics estimated afresh
(``train.reestimate_batchnorm``). In some short ``cpu`` runs the trained head
sank whole groups of look-alike templates into one (Mocking Spongebob,
Squidward and X All The Y into Surprised Pikachu at up to 0.98 probability,
on training memes too), although the inference-mode embeddings still told
them apart: a multinomial logistic regression (scikit-learn) on the
embeddings of fresh training memes separates them, and its weights replace
the head's (``experiments/results/vision-refit-2026-12-05.json``). That the
training-mode features are the cause is likely, not shown.
"""

import logging
import time

import numpy as np
import tensorflow as tf

from dank.models.vision.model import backbone

log = logging.getLogger(__name__)

MAX_ITER = 500  # L-BFGS iterations of the logistic regression.


def embedding_function(model):
    """The picture's embedding in inference mode as a ``tf.function`` (no
    mirror image: ``MirrorPair`` and ``MirrorChoice`` are left out)."""
    preprocess, net = model.get_layer("preprocess"), backbone(model)
    spec = tf.TensorSpec(model.inputs[0].shape, model.inputs[0].dtype)
    return tf.function(
        lambda x: net(preprocess(x), training=False), input_signature=[spec]
    )


def embed_memes(model, batches, n_batches):
    """``(features [N, 2048], labels [N])``: the inference-mode embeddings
    (``embedding_function``) of the first ``n_batches`` of ``batches``."""
    embed = embedding_function(model)
    features, labels = [], []
    for images, y in batches.take(n_batches):
        features.append(embed(images).numpy())
        labels.append(np.asarray(y))
    return np.concatenate(features), np.concatenate(labels)


def fit_head(model, features, labels, c):
    """Replaces the ``logits`` layer's weights by those of a multinomial
    logistic regression of ``labels`` on ``features`` (inverse L2 strength
    ``c``); templates without a meme keep theirs.

    Returns:
        ``{"memes", "train_top1_before", "train_top1_after"}`` (top-1 on the
        memes fitted on), or None when they hold one template only (the head
        is kept).
    """
    from sklearn.linear_model import LogisticRegression

    head = model.get_layer("logits")
    kernel, bias = (w.copy() for w in head.get_weights())
    before = float(((features @ kernel + bias).argmax(axis=1) == labels).mean())
    if np.unique(labels).size < 2:
        log.warning("vision: the head was not fitted again: one template only")
        return None
    fit = LogisticRegression(C=c, max_iter=MAX_ITER).fit(features, labels)
    coef, intercept = fit.coef_, fit.intercept_
    if coef.shape[0] == 1:  # Two templates: one score, the other's is minus it.
        coef = np.concatenate([-coef, coef]) / 2
        intercept = np.concatenate([-intercept, intercept]) / 2
    kernel[:, fit.classes_] = coef.T
    bias[fit.classes_] = intercept
    if len(fit.classes_) < head.units:
        log.warning(
            "vision: %d of %d templates had no meme to fit the head on",
            head.units - len(fit.classes_),
            head.units,
        )
    head.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    after = float(((features @ kernel + bias).argmax(axis=1) == labels).mean())
    return {
        "memes": int(labels.size),
        "train_top1_before": round(before, 4),
        "train_top1_after": round(after, 4),
    }


def refit_head(model, batches, n_batches, c):
    """``fit_head`` on ``embed_memes`` of ``n_batches`` of ``batches`` (fresh
    training memes); returns its figures with the seconds taken."""
    start = time.perf_counter()
    stats = fit_head(model, *embed_memes(model, batches, n_batches), c)
    if stats is not None:
        stats["seconds"] = round(time.perf_counter() - start, 1)
        log.info("vision: head fitted again: %s", stats)
    return stats
