"""The template classifier: ResNet50 backbone, pooled embedding, linear head.

The saved model takes raw RGB pixels (float32, 0..255, [B, S, S, 3]) and does
ResNet's own preprocessing inside, so every caller (classify, cascade, export)
feeds the same thing. It returns ``{"logits": [B, n], "embedding": [B, 2048]}``.
Built with ``mirror=True``, its inference also looks at each picture's mirror
image and answers for that when it is much surer of it (``MirrorPair``,
``MirrorChoice``), so every caller gets the same answer for a mirrored repost;
training steps see one picture.
"""

import keras
from keras import layers, ops

from dank.core.errors import DankError
from dank.models.vision.weights import resolve_weights

# ImageNet channel means in BGR order: what ResNet50's "caffe" mode subtracts.
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)
BACKBONE_NAME = "resnet50"
# How much surer of a mirror image (top-class probability) a mirror-blind
# model must be for it to answer instead of the picture (MirrorChoice).
MIRROR_MARGIN = 0.3
EMBEDDING_DIM = 2048


@keras.saving.register_keras_serializable(package="dank")
class ResNetPreprocess(layers.Layer):
    """RGB 0..255 -> BGR minus the ImageNet mean, as ResNet50 was trained on.

    Args:
        mean: per-channel BGR means to subtract.
    """

    def __init__(self, mean=IMAGENET_BGR_MEAN, **kwargs):
        super().__init__(**kwargs)
        self.mean = tuple(float(m) for m in mean)

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        bgr = ops.flip(images, axis=-1)
        return bgr - ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mean": list(self.mean)}


@keras.saving.register_keras_serializable(package="dank")
class MirrorPair(layers.Layer):
    """At inference, a batch [B, H, W, C] followed by its mirror images
    (left to right): [2B, H, W, C]. In training, the batch as it is."""

    def call(self, images, training=None):
        if training:
            return images
        return ops.concatenate([images, ops.flip(images, axis=2)], axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="dank")
class MirrorChoice(layers.Layer):
    """At inference, each picture's logits [B, n] and embedding [B, D], or its
    mirror image's when the head is surer of that one by more than ``margin``
    in top-class probability (``MirrorPair``'s batch: pictures, then mirror
    images; ``[logits [2B, n], embedding [2B, D]]`` in). In training, both as
    they are.

    Averaging the two, or taking the surer one with no margin, also let the
    mirror image's confusions into memes that were never mirrored; a margin
    of 0.3 kept the mended mirrored memes and cost none of those, on the
    validation sets (experiments/results/vision-mirror-2026-12-05.json).

    Args:
        margin: how much surer of the mirror image (top-class probability,
            0..1) the head must be for it to answer.
    """

    def __init__(self, margin=MIRROR_MARGIN, **kwargs):
        super().__init__(**kwargs)
        self.margin = float(margin)

    def call(self, inputs, training=None):
        logits, embedding = inputs
        if training:
            return logits, embedding
        pictures, mirrored = ops.split(logits, 2, axis=0)
        top = [ops.max(ops.softmax(z, axis=-1), axis=-1) for z in (pictures, mirrored)]
        keep = ops.expand_dims(top[1] <= top[0] + self.margin, -1)
        picked = ops.split(embedding, 2, axis=0)
        return (
            ops.where(keep, pictures, mirrored),
            ops.where(keep, picked[0], picked[1]),
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package="dank")
class FusedBatchNorm(layers.BatchNormalization):
    """Keras' ``BatchNormalization`` whose training step is TensorFlow's fused
    kernel (``FusedBatchNormV3``), as Keras 2 had it.

    Keras 3 computes a training step's statistics and normalisation as about ten
    separate elementwise ops; on the CPU they took about half of a bfloat16
    ResNet50 step. The fused kernel does it in one pass (and one for the
    gradient): 1.44x ResNet50 training images/s at 96 px with bfloat16
    convolutions, 1.16x in float32 (docs/performance.md). The weights, the
    moving-statistics update and inference are Keras' own, so saved models,
    exports and pretrained weights are unchanged; anything the fused kernel does
    not cover (another backend or axis, masks, renorm, synchronised statistics,
    no centre or scale) falls back to Keras' path.
    """

    def _fusable(self, inputs, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis % 4 == 3
            and mask is None
            and self.center
            and self.scale
            and not self.renorm
            and not getattr(self, "synchronized", False)
        )

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._fusable(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            ops.cast(inputs, "float32"),
            ops.cast(self.gamma, "float32"),
            ops.cast(self.beta, "float32"),
            epsilon=self.epsilon,
            is_training=True,
        )
        # The kernel returns the unbiased batch variance; Keras' moving
        # variance averages the biased one.
        n = ops.cast(ops.size(inputs) // ops.shape(inputs)[-1], "float32")
        variance = variance * (n - 1.0) / ops.maximum(n, 2.0)
        for moving, batch in (
            (self.moving_mean, mean),
            (self.moving_variance, variance),
        ):
            moving.assign(moving * self.momentum + batch * (1.0 - self.momentum))
        return ops.cast(outputs, self.compute_dtype)


def _fused_batch_norms(layer):
    """``clone_model``'s layer function: BatchNormalization -> FusedBatchNorm."""
    if type(layer) is layers.BatchNormalization:
        return FusedBatchNorm.from_config(layer.get_config())
    return layer.__class__.from_config(layer.get_config())


def build_model(n_templates, image_size, dropout=0.0, mirror=False):
    """Builds the classifier with randomly initialised weights.

    Args:
        n_templates: number of classes (templates in the catalogue).
        image_size: input side S in pixels.
        dropout: dropout rate on the embedding, active only in training.
        mirror: inference answers for each picture's mirror image instead
            when the head is surer of it by ``MIRROR_MARGIN`` (twice the
            inference cost; no new weights).

    Returns:
        A functional ``keras.Model`` with outputs ``logits`` and ``embedding``.
    """
    if n_templates < 2:
        raise DankError(
            f"need at least 2 templates to train a classifier, got {n_templates}"
        )
    inputs = keras.Input((image_size, image_size, 3), dtype="float32", name="image")
    x = ResNetPreprocess(name="preprocess")(inputs)
    backbone = keras.applications.ResNet50(
        include_top=False,
        weights=None,
        pooling="avg",
        input_shape=(image_size, image_size, 3),
        name=BACKBONE_NAME,
    )
    backbone = keras.models.clone_model(backbone, clone_function=_fused_batch_norms)
    if mirror:
        x = MirrorPair(name="mirror_pair")(x)
    embedding = layers.Activation("linear", dtype="float32", name="embedding")(
        backbone(x)
    )
    hidden = layers.Dropout(dropout, name="dropout")(embedding)
    logits = layers.Dense(n_templates, dtype="float32", name="logits")(hidden)
    if mirror:
        logits, embedding = MirrorChoice(dtype="float32", name="mirror_choice")(
            [logits, embedding]
        )
    return keras.Model(
        inputs, {"logits": logits, "embedding": embedding}, name="vision"
    )


def inference_function(model):
    """``model(x, training=False)`` as a ``tf.function`` traced once for every
    batch size (a last, smaller batch would otherwise trace it again)."""
    import tensorflow as tf

    spec = tf.TensorSpec(model.inputs[0].shape, model.inputs[0].dtype)
    return tf.function(lambda x: model(x, training=False), input_signature=[spec])


def training_model(model):
    """``model``'s image -> logits graph without the mirror layers (identities
    in training), sharing its weights: what ``fit`` trains. With the mirror
    layers in, Keras' symbolic build (inference mode) sees a batch twice as
    long as its labels wherever the batch size is static, as it is per
    replica under ``tf.distribute``."""
    x = model.get_layer("preprocess")(model.inputs[0])
    embedding = model.get_layer("embedding")(backbone(model)(x))
    logits = model.get_layer("logits")(model.get_layer("dropout")(embedding))
    return keras.Model(model.inputs, logits)


def backbone(model):
    """Returns the ResNet50 sub-model of a classifier built by ``build_model``."""
    return model.get_layer(BACKBONE_NAME)


def load_pretrained(model, weights):
    """Loads backbone weights into ``model``.

    Args:
        model: a classifier from ``build_model``.
        weights: ``"imagenet"`` (must already be in Keras' cache; nothing is
            downloaded at run time), a ``.h5`` ResNet50-no-top weights file, or a
            ``.keras`` file holding a dank vision model or a bare ResNet50.

    Raises:
        DankError: the weights are not available or do not fit.
    """
    net = backbone(model)
    path = resolve_weights(weights)
    try:
        if path.suffix == ".keras":
            source = keras.saving.load_model(path, compile=False)
            names = [layer.name for layer in source.layers]
            source = (
                source.get_layer(BACKBONE_NAME) if BACKBONE_NAME in names else source
            )
            net.set_weights(source.get_weights())
        else:
            net.load_weights(str(path))
    except (ValueError, OSError, KeyError) as e:
        raise DankError(
            f"--weights {weights}: could not load ResNet50 backbone weights ({e})"
        ) from e
