"""Caption models: one family, four variants chosen by ``LanguageConfig.variant``.

* ``template`` (ours, the default): a learned embedding per catalogue template
  conditions the LSTM (initial state, input, or both: ``config.conditioning``).
* ``image`` (paper a, Show and Tell): image features -> Dense(E, no bias), fed as
  the LSTM's first input step.
* ``label_average`` (paper b): the mean of the template-name word embeddings,
  concatenated with the image features -> Dense(E) -> first input step.
* ``attention`` (paper c): an encoder LSTM primed with the image projection runs
  over the template-name words; the decoder starts from the encoder's final state
  and attends over its outputs (Luong "general" score, attentional vector
  ``tanh(W_c [context; h])``, without input feeding).

Training sees (teacher forcing; ``tokens`` are the build's token ids)::

    tokens  <s>  y    u    no   <sep> <emp> </s>
    inputs  <s>  y    u    no   <sep> <emp>          (tokens[:, :-1])
    targets y    u    no   <sep> <emp> </s>          (tokens[:, 1:])

For the image variants the template's image features come from a non-trainable
table (one 2048-d vision embedding per template); at generation time a caller
may pass the features of the actual photo instead.

Decoding contract (``dank.decoding`` and the cascade rely on it; all keras.ops,
static shapes, usable inside ``tf.function``):

* ``initial_state(condition) -> state``: ``condition`` is a dict with
  ``"template"`` float ``[B, n_templates]`` (one-hot, or weights to mix several
  templates) and ``"image"`` float ``[B, image_dim]``; a variant reads only what
  it needs. ``state`` is a tuple of tensors, each with leading dimension ``B``.
* ``step(tokens, state) -> (logits, state)``: ``tokens`` int32 ``[B]`` (the
  previous token, ``START_ID`` first), logits float32 ``[B, V]``. No dropout.
"""

import keras
import numpy as np
from keras import ops

from dank.core.constants import PAD_ID
from dank.core.machine import fast_bf16
from dank.models.language import adaptive
from dank.models.language.config import LanguageConfig, check_cutoffs
from dank.models.language.losses import (
    Perplexity,
    masked_mean,
    sampled_token_nll,
    token_nll,
)
from dank.models.language.lstm import ConditionedLSTM

IMAGE_VARIANTS = ("image", "label_average", "attention")  # Need vision features.
LABEL_VARIANTS = ("label_average", "attention")  # Need template-name words.


@keras.saving.register_keras_serializable(package="dank")
class CaptionModel(keras.Model):
    """An LSTM caption generator conditioned on a template (and its image).

    Args:
        config: a ``LanguageConfig`` or its dict.
        vocab_size: vocabulary size ``V``.
        n_templates: templates in the catalogue.
        label_tokens: ``[n_templates][<= max_label_words]`` token ids of each
            template's name (label variants only).
    """

    def __init__(self, config, vocab_size, n_templates, label_tokens=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = LanguageConfig.from_dict(config)
        self.config = config
        self.vocab_size = int(vocab_size)
        self.n_templates = int(n_templates)
        self.variant = config.variant
        if self.variant in LABEL_VARIANTS and label_tokens is None:
            raise ValueError(f"variant {self.variant!r} needs label_tokens")
        self.label_tokens = _pad_labels(label_tokens, config.max_label_words)
        self.logits_dtype = resolve_logits_dtype(config.logits_dtype)
        self.cutoffs = check_cutoffs(config.adaptive_softmax, self.vocab_size)
        # Token NLLs summed by compute_loss ("perplexity" in fit's logs).
        self.perplexity = Perplexity()
        self._last_training = False
        if config.sampled_softmax:
            self.sample_seed = keras.random.SeedGenerator(0, name="sample_seed")
        c = config
        init = self._initializer
        self.word_embedding = keras.layers.Embedding(
            vocab_size,
            c.embedding_dim,
            embeddings_initializer=init("uniform"),
            name="word_embedding",
        )
        lstm_args = dict(
            num_layers=c.num_layers,
            dropout=c.dropout,
            init_scale=c.init_scale,
            unroll=c.unroll,
        )
        if self.variant == "template":
            self.template_embedding = keras.layers.Dense(
                c.template_dim,
                use_bias=False,
                kernel_initializer=init("uniform"),
                name="template_embedding",
            )
            self.decoder = ConditionedLSTM(
                c.units,
                conditioning=c.conditioning,
                condition_dim=c.template_dim,
                name="decoder",
                **lstm_args,
            )
        else:
            self.image_projection = keras.layers.Dense(
                c.embedding_dim,
                use_bias=self.variant == "label_average",
                kernel_initializer=init("glorot_uniform"),
                name="image_projection",
            )
            self.decoder = ConditionedLSTM(c.units, name="decoder", **lstm_args)
        if self.variant == "attention":
            self.encoder = ConditionedLSTM(c.units, name="encoder", **lstm_args)
            self.attention_score = keras.layers.Dense(
                c.units,
                use_bias=False,
                kernel_initializer=init("glorot_uniform"),
                name="attention_score",
            )
            self.attention_combine = keras.layers.Dense(
                c.units,
                activation="tanh",
                use_bias=False,
                kernel_initializer=init("glorot_uniform"),
                name="attention_combine",
            )
        if c.tie_embeddings:  # logits = (h W) E^T + b: E is the word embedding.
            self.output_embedding = keras.layers.Dense(
                c.embedding_dim,
                use_bias=False,
                kernel_initializer=init("glorot_uniform"),
                name="output_embedding",
            )
        else:
            self.projection = keras.layers.Dense(
                vocab_size, kernel_initializer=init("glorot_uniform"), name="projection"
            )
        self.build(None)

    def _initializer(self, default):
        scale = self.config.init_scale
        if scale > 0:
            return keras.initializers.RandomUniform(-scale, scale)
        return keras.initializers.get(default)

    def build(self, input_shape=None):
        c = self.config
        self.word_embedding.build((None,))
        self.decoder.build((None, None, c.embedding_dim))
        if self.variant == "template":
            self.template_embedding.build((None, self.n_templates))
        else:
            extra = c.embedding_dim if self.variant == "label_average" else 0
            self.image_projection.build((None, c.image_dim + extra))
            self.template_images = self.add_weight(
                (self.n_templates, c.image_dim),
                "zeros",
                trainable=False,
                name="template_images",
            )
        if self.variant == "attention":
            self.encoder.build((None, None, c.embedding_dim))
            self.attention_score.build((None, None, c.units))
            self.attention_combine.build((None, None, 2 * c.units))
        if c.tie_embeddings:
            self.output_embedding.build((None, c.units))
            self.output_bias = self.add_weight(
                (self.vocab_size,), "zeros", name="output_bias"
            )
        else:
            self.projection.build((None, c.units))
        if self.cutoffs:  # The adaptive softmax's cluster logits.
            width = c.embedding_dim if c.tie_embeddings else c.units
            self.cluster_kernel = self.add_weight(
                (width, len(self.cutoffs)),
                self._initializer("glorot_uniform"),
                name="cluster_kernel",
            )
            self.cluster_bias = self.add_weight(
                (len(self.cutoffs),), "zeros", name="cluster_bias"
            )
        self.built = True

    # -- conditioning --------------------------------------------------------

    def set_template_images(self, features):
        """Stores one image feature vector per template (``[n, image_dim]``)."""
        features = np.asarray(features, dtype="float32")
        if features.shape != tuple(self.template_images.shape):
            raise ValueError(
                f"template image features must be {tuple(self.template_images.shape)},"
                f" got {features.shape}"
            )
        self.template_images.assign(features)

    def condition_for_labels(self, labels):
        """The ``initial_state`` condition for templates given by label ``[B]``."""
        condition = {"template": ops.one_hot(labels, self.n_templates)}
        if self.variant in IMAGE_VARIANTS:
            condition["image"] = ops.take(self.template_images, labels, axis=0)
        return condition

    def _label_means(self):
        """Mean template-name word embedding per template, ``[n, E]``."""
        words = ops.convert_to_tensor(self.label_tokens)
        mask = ops.expand_dims(ops.cast(ops.not_equal(words, PAD_ID), "float32"), -1)
        total = ops.sum(self.word_embedding(words) * mask, axis=1)
        return total / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def initial_state(self, condition, training=False):
        """The decoder state before the first token (see the module docstring)."""
        if self.variant == "template":
            embedding = self.template_embedding(condition["template"])
            return self.decoder.initial_state(embedding)
        image = ops.convert_to_tensor(condition["image"], "float32")
        batch = ops.shape(image)[0]
        if self.variant == "attention":
            return self._encode(condition["template"], image, training)
        if self.variant == "label_average":
            labels = ops.matmul(condition["template"], self._label_means())
            image = ops.concatenate([labels, image], axis=-1)
        first = self.image_projection(image)
        _, state = self.decoder.step(first, self.decoder.initial_state(None, batch))
        return state

    def _encode(self, template, image, training):
        """Attention variant: encodes the name of the heaviest template."""
        labels = ops.argmax(template, axis=-1)
        words = ops.take(ops.convert_to_tensor(self.label_tokens), labels, axis=0)
        first = ops.expand_dims(self.image_projection(image), 1)
        sequence = ops.concatenate([first, self.word_embedding(words)], axis=1)
        mask = ops.concatenate(
            [
                ops.ones_like(words[:, :1]),
                ops.cast(ops.not_equal(words, PAD_ID), words.dtype),
            ],
            axis=1,
        )
        outputs, state = self.encoder(
            sequence, mask=ops.cast(mask, "bool"), training=training, return_state=True
        )
        return (*state, outputs, ops.cast(mask, "float32"))

    def _attend(self, h, memory, memory_mask):
        """Luong attention of queries ``h [B,T,u]`` over ``memory [B,S,u]``."""
        scores = ops.einsum("btu,bsu->bts", self.attention_score(h), memory)
        scores = scores + (1.0 - ops.expand_dims(memory_mask, 1)) * -1e9
        context = ops.einsum("bts,bsu->btu", ops.softmax(scores, axis=-1), memory)
        return self.attention_combine(ops.concatenate([context, h], axis=-1))

    # -- forward passes ------------------------------------------------------

    def _output_input(self, h):
        """What the vocabulary projection multiplies: ``h``, or its
        projection to the embedding size when the output is tied."""
        return self.output_embedding(h) if self.config.tie_embeddings else h

    def _output_weights(self):
        """``(kernel [d, V], bias [V])`` of the vocabulary projection."""
        if self.config.tie_embeddings:
            return ops.transpose(self.word_embedding.embeddings), self.output_bias
        return self.projection.kernel, self.projection.bias

    def logits(self, h):
        """Vocabulary logits ``[..., V]`` (float32) of decoder outputs
        ``h [..., units]``; the matmul's operands are ``logits_dtype``. With
        the adaptive softmax they are its log-probabilities (logits of the
        same distribution)."""
        return self._scores(self._output_input(h), self._output_weights())

    def _scores(self, x, output):
        """``logits`` from the output layer's input ``x`` and ``(kernel, bias)``."""
        logits = project(x, *output, self.logits_dtype)
        if not self.cutoffs:
            return logits
        clusters = project(x, self.cluster_kernel, self.cluster_bias)
        return adaptive.log_probs(logits, clusters, self.cutoffs)

    def target_nll(self, h, targets):
        """Exact per-token NLL ``[B, T]`` (zero where padded) and target mask
        of ``targets`` given decoder outputs ``h [B, T, units]``. The adaptive
        softmax scores each token's head and cluster only (its XLA form
        scores them all)."""
        if not self.cutoffs:
            return token_nll(targets, self.logits(h))
        nll = adaptive.token_nll_static if self.jit_compile else adaptive.token_nll
        return nll(
            self._output_input(h),
            targets,
            *self._output_weights(),
            self.cluster_kernel,
            self.cluster_bias,
            self.cutoffs,
            lambda x, k, b: project(x, k, b, self.logits_dtype),
        )

    def features(self, inputs, training=False):
        """Teacher-forced decoder outputs ``[B, T, units]`` (before the
        vocabulary projection) for ``{"tokens", "label"}``."""
        tokens = inputs["tokens"]
        state = self.initial_state(
            self.condition_for_labels(inputs["label"]), training=training
        )
        n = self.decoder.state_size()
        outputs = self.decoder(
            self.word_embedding(tokens),
            mask=ops.not_equal(tokens, PAD_ID),
            initial_state=state[:n],
            training=training,
        )
        if self.variant == "attention":
            outputs = self._attend(outputs, state[n], state[n + 1])
        return outputs

    def call(self, inputs, training=False):
        """Teacher-forced logits ``[B, T, V]`` for ``{"tokens", "label"}``.

        With the adaptive softmax, and with ``config.sampled_softmax`` when
        ``training=True``, it returns the decoder outputs instead
        (``features``): ``compute_loss`` then scores the targets from them
        (``target_nll``, or a sample of the vocabulary), without the full
        projection.
        """
        outputs = self.features(inputs, training=training)
        if self.cutoffs or (training and self.config.sampled_softmax):
            return outputs
        return self.logits(outputs)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        """The training loss, ``MaskedCrossEntropy``'s mean over the non-PAD
        targets, from one pass over the logits: the perplexity metric adds up
        the same token NLLs instead of running a second softmax over
        ``[B, T, V]``. With ``config.sampled_softmax``, training scores a
        sample of the vocabulary (``losses.sampled_token_nll``) and logs no
        perplexity; evaluation is always exact."""
        if self._sampled_step(training):
            kernel, bias = self._output_weights()
            nll, mask = sampled_token_nll(
                self._output_input(y_pred),
                y,
                kernel,
                bias,
                self.config.sampled_softmax,
                self.sample_seed,
                lambda h, k, b: project(h, k, b, self.logits_dtype),
            )
        else:
            nll, mask = (
                self.target_nll(y_pred, y) if self.cutoffs else token_nll(y, y_pred)
            )
            self.perplexity.add(nll, mask)
        loss = masked_mean(nll, mask, sample_weight)
        for extra in self.losses:
            loss = loss + ops.cast(extra, loss.dtype)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """The metrics' results; a sampled training step has no perplexity."""
        logs = super().compute_metrics(x, y, y_pred, sample_weight)
        if self._sampled_step(self._last_training):
            logs.pop(self.perplexity.name, None)
        return logs

    def _sampled_step(self, training):
        self._last_training = bool(training)
        return self._last_training and self.config.sampled_softmax > 0

    def step(self, tokens, state, output=None):
        """One decoding step: ``(logits [B, V], new state)``.

        ``output`` is ``prepare_step()["output"]``: the vocabulary projection's
        weights, cast once per search instead of at every step (the decoders
        do it: ``dank.decoding.common.prepare_step``)."""
        state = tuple(state)
        n = self.decoder.state_size()
        h, new_state = self.decoder.step(self.word_embedding(tokens), state[:n])
        if self.variant == "attention":
            h = self._attend(ops.expand_dims(h, 1), state[n], state[n + 1])[:, 0]
        output = self._output_weights() if output is None else output
        return self._scores(self._output_input(h), output), (*new_state, *state[n:])

    def prepare_step(self):
        """Keyword arguments of ``step`` that are the same at every step of a
        search: the projection's kernel (transposed when tied, cast to
        ``logits_dtype``) and bias. Same logits, one cast per search."""
        kernel, bias = self._output_weights()
        if self.logits_dtype != "float32":
            kernel = ops.cast(kernel, self.logits_dtype)
        return {"output": (kernel, bias)}

    def get_config(self):
        return {
            **super().get_config(),
            "config": self.config.to_dict(),
            "vocab_size": self.vocab_size,
            "n_templates": self.n_templates,
            "label_tokens": None
            if self.label_tokens is None
            else self.label_tokens.tolist(),
        }


def project(h, kernel, bias, dtype="float32"):
    """``h @ kernel + bias`` as float32, the matmul's operands cast to ``dtype``.

    With bfloat16 the product is rounded to bfloat16 once (8 bits of
    mantissa) before it returns to float32; the weights, their gradients'
    accumulation in the optimizer and the softmax stay float32."""
    if dtype != "float32":
        h = ops.cast(h, dtype)
        if kernel.dtype != dtype:
            kernel = ops.cast(kernel, dtype)
    return ops.cast(ops.matmul(h, kernel), "float32") + bias


def resolve_logits_dtype(name):
    """``LanguageConfig.logits_dtype`` made concrete on this machine."""
    if name == "auto":
        return "bfloat16" if fast_bf16() else "float32"
    return name


def _pad_labels(label_tokens, width):
    """Pads/cuts template-name token ids to ``[n, width]`` (PAD = 0)."""
    if label_tokens is None:
        return None
    out = np.zeros((len(label_tokens), width), dtype="int32")
    for i, ids in enumerate(label_tokens):
        ids = list(ids)[:width]
        out[i, : len(ids)] = ids
    return out


def label_tokens_for(catalogue, vocab):
    """Token ids of every template's name, in label order (paper: the label)."""
    from dank.data.text import tokenize

    return [vocab.encode(tokenize(t.name)) for t in catalogue]
