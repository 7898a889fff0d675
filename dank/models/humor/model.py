"""The humour model: caption tokens + template -> a funniness score in (0, 1).

::

    tokens [B, T] -> Embedding -> Conv1D (word windows, relu) -> MaskedPooling
                     (mean and max over real tokens)           -> [B, 2F] --+
    label  [B]    -> Embedding over n_templates + 1 rows         -> [B, D] --+
                     (the last row stands for an unknown template)           |
                     concat -> Dense relu -> Dropout -> Dense sigmoid -> score [B]

The target is a percentile within the template, so the template embedding lets
the model judge a caption against that template's norm. Training also shows a
share of captions with the unknown-template row, so captions of templates
outside the catalogue still get a sensible, template-free score.
"""

import keras
from keras import layers, ops

from dank.core.constants import PAD_ID


@keras.saving.register_keras_serializable(package="dank")
class MaskedPooling(layers.Layer):
    """Mean and max of ``features [B, T, F]`` over positions where ``tokens != PAD``.

    Returns ``[B, 2F]``. A caption of only padding pools to zeros.
    """

    def call(self, features, tokens):
        mask = ops.expand_dims(
            ops.cast(ops.not_equal(tokens, PAD_ID), features.dtype), -1
        )
        count = ops.maximum(ops.sum(mask, axis=1), 1.0)
        mean = ops.sum(features * mask, axis=1) / count
        # Padding gets a very low value so it never wins the max.
        masked = features * mask + (mask - 1.0) * 1e9
        peak = ops.max(masked, axis=1) * ops.cast(
            ops.max(mask, axis=1) > 0, features.dtype
        )
        return ops.concatenate([mean, peak], axis=-1)

    def compute_output_shape(self, features_shape, tokens_shape):
        return (features_shape[0], 2 * features_shape[-1])


def build_humor_model(config, vocab_size, n_templates):
    """A functional Keras model ``{"tokens", "label"} -> score [B]``.

    Args:
        config: a ``HumorConfig``.
        vocab_size: rows of the word embedding.
        n_templates: templates in the catalogue; label ``n_templates`` means
            "unknown template".
    """
    seed = config.seed
    tokens = keras.Input((config.max_len,), dtype="int32", name="tokens")
    label = keras.Input((), dtype="int32", name="label")
    words = layers.Embedding(
        vocab_size,
        config.embedding_dim,
        name="word_embedding",
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
    )(tokens)
    windows = layers.Conv1D(
        config.filters,
        config.kernel_size,
        padding="same",
        activation="relu",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1),
        name="conv",
    )(words)
    text = MaskedPooling(name="pool")(windows, tokens)
    template = layers.Embedding(
        n_templates + 1,
        config.template_dim,
        name="template_embedding",
        embeddings_initializer=keras.initializers.RandomUniform(
            -0.05, 0.05, seed=seed + 2
        ),
    )(label)
    joined = layers.Concatenate(name="join")([text, template])
    hidden = layers.Dense(
        config.hidden,
        activation="relu",
        name="hidden",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 3),
    )(joined)
    hidden = layers.Dropout(config.dropout, seed=seed + 4, name="dropout")(hidden)
    score = layers.Dense(
        1,
        activation="sigmoid",
        name="score",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 5),
    )(hidden)
    score = layers.Reshape((), name="flatten")(score)
    return keras.Model({"tokens": tokens, "label": label}, score, name="humor")
