"""The cascade as one ``tf.Module``: raw image bytes in, caption strings out.

::

    image bytes ──decode+resize──► ResNet50 ──► template probs, 2048-d embedding
                                                   │
                known (max prob ≥ calibrated threshold)?   (per image)
                 yes: condition on the top template (or the top-k mixed by prob)
                 no:  fall back to the image-conditioned caption model, when the
                      run has one; else keep the template guess, marked unknown
                                                   ▼
                        decoder (greedy / beam / diverse / sample), one while-loop
                                                   ▼
                        tokens ──split at <sep>──► top and bottom strings

Every method is a ``tf.function`` with a fixed input signature, so a batch of
any size runs as one graph, and the module can be saved as a SavedModel.
"""

import tensorflow as tf

from dank.core.errors import DankError
from dank.decoding import decode
from dank.decoding.strings import split_top_bottom


def decode_and_resize(image_bytes, image_size):
    """Decodes one JPEG/PNG/GIF/BMP to float32 [S, S, 3] pixels in 0..255."""
    image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
    image = tf.image.resize(
        tf.cast(image, tf.float32), (image_size, image_size), antialias=True
    )
    return tf.clip_by_value(image, 0.0, 255.0)


class Cascade(tf.Module):
    """The whole chain for a batch of images.

    Args:
        classifier: the vision Keras model (pixels -> {"logits", "embedding"}).
        captioner: the template-conditioned caption model (``initial_state``/``step``).
        vocab_tokens: the vocabulary as a list of strings (index = token id).
        threshold: calibrated max-probability threshold for ``known``.
        image_size: the classifier's input size in pixels.
        decode_config: a ``dank.decoding.DecodeConfig``.
        fallback: an image-conditioned caption model for unknown images, or None.
        mix_top_k: condition on the top-k templates mixed by probability (1 = top-1).
    """

    def __init__(
        self,
        classifier,
        captioner,
        vocab_tokens,
        threshold,
        image_size,
        decode_config,
        fallback=None,
        mix_top_k=1,
        name="cascade",
    ):
        super().__init__(name=name)
        self.classifier = classifier
        self.captioner = captioner
        self.fallback = fallback
        self.vocab = tf.constant(list(vocab_tokens))
        self.threshold = float(threshold)
        self.image_size = int(image_size)
        self.decode_config = decode_config
        self.mix_top_k = int(mix_top_k)
        self.n_templates = (
            int(classifier.output["logits"].shape[-1])
            if isinstance(classifier.output, dict)
            else None
        )
        most = self.n_templates or max(self.mix_top_k, 1)
        if not 1 <= self.mix_top_k <= most:
            raise DankError(
                f"--mix-top-k must be between 1 and {most} (the run's templates), "
                f"got {self.mix_top_k}"
            )
        try:
            decode_config.check_vocabulary(len(vocab_tokens))
        except ValueError as e:
            raise DankError(str(e)) from e
        seed = tf.TensorSpec([2], tf.int32, name="seed")
        self.classify = tf.function(
            self._classify, input_signature=[tf.TensorSpec([None], tf.string)]
        )
        self.caption = tf.function(
            self._caption,
            input_signature=[
                tf.TensorSpec([None, None], tf.float32, name="template_weights"),
                tf.TensorSpec([None, 2048], tf.float32, name="image_embedding"),
                tf.TensorSpec([None], tf.bool, name="known"),
                seed,
            ],
        )
        self.generate = tf.function(
            self._generate, input_signature=[tf.TensorSpec([None], tf.string), seed]
        )

    def _classify(self, image_bytes):
        images = tf.map_fn(
            lambda b: decode_and_resize(b, self.image_size),
            image_bytes,
            fn_output_signature=tf.TensorSpec(
                [self.image_size, self.image_size, 3], tf.float32
            ),
        )
        outputs = self.classifier(images, training=False)
        probs = tf.nn.softmax(outputs["logits"], axis=-1)
        known = tf.reduce_max(probs, axis=-1) >= self.threshold
        return {"probs": probs, "embedding": outputs["embedding"], "known": known}

    def template_weights(self, probs):
        """One-hot of the top template, or the top-k mixed by probability."""
        values, indices = tf.math.top_k(probs, k=self.mix_top_k)
        values = values / tf.reduce_sum(values, axis=-1, keepdims=True)
        depth = tf.shape(probs)[-1]
        return tf.reduce_sum(tf.one_hot(indices, depth) * values[..., None], axis=1)

    def _decode(self, model, weights, embedding, seed):
        state = model.initial_state({"template": weights, "image": embedding})
        decoded = decode(model.step, state, self.decode_config, seed=seed)
        top, bottom = split_top_bottom(decoded.tokens, self.vocab)
        return {
            "tokens": decoded.tokens,
            "scores": decoded.scores,
            "top": top,
            "bottom": bottom,
        }

    def _caption(self, template_weights, image_embedding, known, seed):
        """Captions for given template weights; rows with ``known`` False use the
        image-conditioned fallback model when there is one.

        The fallback decodes only when some row is unknown (a ``tf.cond``), so a
        batch of known templates costs one decode, not two.
        """
        out = self._decode(self.captioner, template_weights, image_embedding, seed)
        if self.fallback is None:
            return out

        def with_fallback():
            alt = self._decode(self.fallback, template_weights, image_embedding, seed)
            return {
                key: tf.where(
                    tf.reshape(known, [-1] + [1] * (len(value.shape) - 1)),
                    value,
                    alt[key],
                )
                for key, value in out.items()
            }

        return tf.cond(tf.reduce_all(known), lambda: out, with_fallback)

    def _generate(self, image_bytes, seed):
        found = self._classify(image_bytes)
        weights = self.template_weights(found["probs"])
        out = self._caption(weights, found["embedding"], found["known"], seed)
        return {**found, **out}
