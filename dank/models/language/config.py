"""Configuration of the caption model and its training, and the presets.

``PRESETS`` holds one ``LanguageConfig`` per preset name: ``tiny`` (tests; trains
in seconds), ``cpu`` (``make train`` on the starter set within minutes on a
2-core CPU), ``paper`` (the settings of Peirson & Tolunay 2018, PAPER.md) and
``full`` (the paper's model size on the full catalogue, trained like ``cpu``).
"""

import dataclasses

VARIANTS = ("template", "image", "label_average", "attention")
OPTIMIZERS = ("sgd", "adam")
LOGITS_DTYPES = ("float32", "bfloat16", "auto")


def check_cutoffs(cutoffs, vocab=None):
    """``cutoffs`` as a tuple; ``ValueError`` unless they are integers that
    increase strictly from 1 (and stay below ``vocab``)."""
    cutoffs = tuple(cutoffs)
    if any(isinstance(c, bool) or not isinstance(c, int) for c in cutoffs):
        raise ValueError(f"adaptive_softmax cutoffs must be integers, got {cutoffs}")
    if cutoffs and (
        cutoffs[0] < 1 or any(b <= a for a, b in zip(cutoffs, cutoffs[1:]))
    ):
        raise ValueError(
            f"adaptive_softmax cutoffs must increase strictly from 1, got {cutoffs}"
        )
    if cutoffs and vocab is not None and cutoffs[-1] >= vocab:
        raise ValueError(
            f"adaptive_softmax cutoffs must be below the vocabulary size {vocab},"
            f" got {cutoffs}"
        )
    return cutoffs


@dataclasses.dataclass(frozen=True)
class LanguageConfig:
    """Everything that defines a caption model and how it is trained."""

    variant: str = "template"  # One of VARIANTS; "template" is ours, others paper's.
    embedding_dim: int = 300  # Word embedding size (paper: 300, GloVe-initialised).
    units: int = 512  # LSTM units per layer (paper: 512).
    num_layers: int = 1  # Stacked LSTM layers (paper: 1).
    template_dim: int = 128  # Learned template embedding size ("template" variant).
    conditioning: str = "both"  # How the template enters: "init", "input", "both".
    image_dim: int = 2048  # Image feature size (ResNet50 pooled features).
    max_label_words: int = 8  # Template-name words kept (label_average/attention).
    dropout: float = 0.3  # Rate on LSTM inputs and outputs (paper: keep 0.7).
    init_scale: float = 0.08  # Uniform init in +-init_scale (paper: 0.08); 0 = Keras.
    optimizer: str = "sgd"  # "sgd" (paper) or "adam".
    learning_rate: float = 2.0  # Initial learning rate (paper: SGD 2.0).
    lr_decay_epochs: int = 8  # Multiply the rate by lr_decay every N epochs (paper: 8).
    lr_decay: float = 0.5  # Decay factor (paper: halved).
    clipnorm: float = 5.0  # Global gradient-norm clip (paper: 5.0).
    batch_size: int = 32  # Captions per batch (paper: 32).
    epochs: int = 56  # Passes over the training split (paper: about 56).
    # Batches per epoch; 0 = one full pass. A fixed number keeps the training
    # time of a preset independent of the data size (the cpu preset's budget).
    steps_per_epoch: int = 0
    max_len: int = 0  # Cut captions to this many tokens; 0 keeps all (builds cap 29).
    weight_by_upvotes: bool = False  # Weight captions by upvote percentile (0.5..1.5).
    # Tie the output layer to the word embedding (Press & Wolf 2017): the LSTM
    # output is projected to embedding_dim and scored against the embedding
    # matrix. Fewer parameters, and a cheaper vocabulary projection when
    # embedding_dim < units.
    tie_embeddings: bool = False
    unroll: bool = False  # Unroll the LSTM time loop (static lengths only).
    # Operand type of the vocabulary projection's matmul, the model's largest:
    # "bfloat16" casts its two operands and adds the bias to the float32
    # result (weights, softmax and loss stay float32); "auto" picks bfloat16
    # where the hardware multiplies it natively (dank.core.machine.fast_bf16)
    # and float32 elsewhere.
    logits_dtype: str = "float32"
    # Training scores the targets and this many sampled words instead of the
    # whole vocabulary (losses.sampled_token_nll); 0 = the full softmax.
    # Evaluation, perplexity and decoding always use the full softmax.
    sampled_softmax: int = 0
    # Adaptive softmax (dank.models.language.adaptive): the head's size and
    # the starts of the tail clusters, e.g. (1000, 4000); () = the full
    # softmax. An exact distribution of its own (every score stays exact),
    # cheaper to train: each token scores the head and at most one cluster.
    adaptive_softmax: tuple = ()
    samples_every: int = 1  # Log sample captions to TensorBoard every N epochs.

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}"
            )
        if self.logits_dtype not in LOGITS_DTYPES:
            raise ValueError(
                f"logits_dtype must be one of {LOGITS_DTYPES},"
                f" got {self.logits_dtype!r}"
            )
        if self.sampled_softmax < 0:
            raise ValueError(
                f"sampled_softmax must be >= 0, got {self.sampled_softmax!r}"
            )
        object.__setattr__(self, "adaptive_softmax", tuple(self.adaptive_softmax))
        check_cutoffs(self.adaptive_softmax)
        if self.adaptive_softmax and self.sampled_softmax:
            raise ValueError("choose adaptive_softmax or sampled_softmax, not both")
        if self.conditioning not in ("init", "input", "both"):
            raise ValueError(
                f"conditioning must be init, input or both, got {self.conditioning!r}"
            )

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in fields})

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def for_vocabulary(self, size):
        """This config for a ``size``-token vocabulary: adaptive-softmax cutoffs
        at or past its end are dropped (their clusters would be empty), so a
        preset made for a large build also trains on a small one."""
        kept = tuple(c for c in self.adaptive_softmax if c < size)
        return (
            self
            if kept == self.adaptive_softmax
            else self.replace(adaptive_softmax=kept)
        )


PRESETS = {
    "tiny": LanguageConfig(
        embedding_dim=16,
        units=32,
        template_dim=8,
        image_dim=2048,
        max_label_words=4,
        dropout=0.1,
        optimizer="adam",
        learning_rate=1e-2,
        lr_decay_epochs=0,
        batch_size=16,
        epochs=2,
    ),
    # Chosen for held-out perplexity within the make-train budget on 2 CPU
    # cores (starter set: 100 templates, 59k training captions, vocabulary
    # 10.5k). Adam converges in far fewer updates than the paper's SGD. The
    # vocabulary projection dominates the cost, so the output layer is tied to
    # the 128-d word embedding (half the projection's FLOPs of an untied 256-d
    # one, and better perplexity at every step count we tried). The model is
    # underfitted at this budget, so dropout is light (0.1 beat 0.25 and 0.3).
    # 7 x 250 batches of 128 is about 3.8 passes over the training captions.
    # Batches of 128 run 1.27x the tokens/s of batches of 64 here (the LSTM's
    # matmuls are small at this size); with the rate doubled to 6e-3 their
    # test perplexity per word was 115.2 against 118.7 for 7 x 500 batches of
    # 64 at 3e-3, and 123.3 at 4e-3 (2026-12-04, experiments/results/
    # make-train-levers.json). Measurements: README "Training and results".
    "cpu": LanguageConfig(
        embedding_dim=128,
        units=256,
        template_dim=64,
        dropout=0.1,
        init_scale=0.0,
        optimizer="adam",
        learning_rate=6e-3,
        lr_decay_epochs=3,
        lr_decay=0.5,
        clipnorm=5.0,
        batch_size=128,
        epochs=7,
        steps_per_epoch=250,
        tie_embeddings=True,
        # float32: with bfloat16 logits two runs gave test perplexity per word
        # 127.0 and 128.3, float32 runs 125.4 to 127.8 (126.3 the latest), and
        # the real loop was no faster at this size (docs/performance.md).
        logits_dtype="float32",
        # Adaptive softmax: the 1,000 most frequent words (86% of the training
        # tokens) in the head, then 3,000 and the other 6.5k in two clusters.
        # Half the time per epoch of the full softmax (40 s against 79 s), and
        # better perplexity: 54.2 per token on val after 7 epochs, against
        # 56.7 after the full softmax's 8, and 54.0 after an 8th adaptive
        # one, so 7 epochs; 6 epochs with faster decay reached only 58.0
        # (experiments/results/run-cpu-adaptive.json, make-train-levers.json).
        adaptive_softmax=(1000, 4000),
    ),
    "paper": LanguageConfig(),
}

# The paper's model size (embedding 300, LSTM 512, template embedding 128) on
# the full catalogue (3,052 templates, 280k training captions, vocabulary 26k),
# trained with the cpu preset's recipe so that it fits 2 CPU cores: Adam, the
# output tied to the word embedding (at batch 64, 1.6x the tokens/s of the
# paper's untied 512 -> 26k projection at batch 32), light dropout; a lower rate
# for the larger model. 9 x 1,000 batches of 64 is about 2 passes over the
# training captions. With the adaptive softmax and bfloat16 logits: 38 min of
# training, test perplexity per word 102.2, against 1 h 38 min and 103.1 with
# the full softmax (experiments/results/run-make-train-full.json,
# template-full.json).
PRESETS["full"] = PRESETS["cpu"].replace(
    logits_dtype="auto",
    # Adaptive softmax: the 2,000 most frequent words (88% of the training
    # tokens) in the head, then 6,000 (9%) and the other 18k in two clusters.
    adaptive_softmax=(2000, 8000),
    **{
        f: getattr(PRESETS["paper"], f)
        for f in ("embedding_dim", "units", "template_dim")
    },
    learning_rate=2e-3,
    batch_size=64,
    epochs=9,
    steps_per_epoch=1000,
)


def get_preset(name):
    """Returns the preset ``name``; ``ValueError`` lists the known ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]
