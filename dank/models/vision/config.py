"""Vision configuration: one frozen dataclass, presets as data."""

import dataclasses
from dataclasses import dataclass

from dank.core.errors import DankError

CONV_DTYPES = ("float32", "bfloat16", "auto")


@dataclass(frozen=True)
class VisionConfig:
    """Everything that shapes a template-classifier run."""

    image_size: int  # Model input side S in pixels (paper: 224).
    batch_size: int  # Images per optimizer step (global, over all replicas).
    steps: int  # Optimizer steps in total (head and full phases together).
    steps_per_epoch: int  # Keras epoch length; BackupAndRestore resumes per epoch.
    learning_rate: float  # Peak AdamW learning rate after warm-up.
    warmup_steps: int  # Linear warm-up from 0 to the peak, then cosine decay to 0.
    weight_decay: float  # AdamW decoupled weight decay.
    head_steps: int  # With pretrained weights: steps training the head only.
    dropout: float  # Dropout on the 2048-d embedding before the head.
    label_smoothing: float  # Cross-entropy label smoothing.
    canvas_scale: float  # Templates are resized to S * canvas_scale before cropping.
    min_crop_area: float  # Random crops keep at least this share of the canvas.
    jpeg_quality: tuple  # (min, max) JPEG re-compression quality.
    caption_bank: int  # Caption text layers pre-rendered once per split.
    val_per_template: int  # Synthetic validation memes per template.
    val_unknown: int  # Synthetic unknown images used for calibration.
    bn_batches: int  # Training batches used to re-estimate BatchNorm statistics.
    shuffle_buffer: int  # tf.data shuffle buffer over templates.
    seed: int  # Seed for augmentation and the fixed validation set.
    # XLA for the train step. Off for the CPU presets: on this 2-core CPU it
    # trained at 0.64x graph mode at 96 px and 0.22x at 64 px (idle,
    # bench_vision.py, 2026-11-26). On for `paper`, which is meant for a GPU.
    jit_compile: bool
    # With pretrained weights: start the new head from the backbone's embeddings
    # of the clean templates (weight imprinting; dank.models.vision.imprint).
    imprint: bool = False
    # Progressive resizing: the first ``small_steps`` of the from-scratch
    # steps train at ``small_size`` pixels (cheaper: ResNet50's FLOPs grow with
    # the area), the rest at ``image_size``, one learning-rate schedule over
    # both. 0 = every step at ``image_size``.
    small_size: int = 0
    small_steps: int = 0
    # The training step's convolutions: "float32", "bfloat16" (oneDNN's
    # bfloat16 rewrite of the CPU graph, float32 variables and statistics:
    # dank.core.machine.onednn_bfloat16) or "auto" (bfloat16 where oneDNN
    # runs it natively, AVX512_BF16 or AMX; float32 elsewhere). Evaluation,
    # inference and exports always run float32.
    conv_dtype: str = "float32"
    # Share of training memes mirrored left to right (the validation memes
    # keep augment.FLIP_PROB, 0.15: mirrored reposts). With 0.15, mirrored
    # validation memes scored 84-95% light top-1 against 97-99.5% for the
    # rest; 0.5 mended them (97.5-100%) but cost the rest as much (light
    # 97.1% on average over three `cpu` runs against 97.3% over eight:
    # experiments/results/vision-flip.json), so the presets keep 0.15.
    flip_prob: float = 0.15
    # Inference also looks at each picture's mirror image and answers for it
    # when the classifier is surer of it by model.MIRROR_MARGIN (a mirrored
    # repost); 1.5-2x the inference time, nothing in training. Half of the
    # `cpu` preset's light validation misses were mirrored memes; re-scored
    # with it, seven `make train` models went from 97.3% to 98.5% light
    # top-1 on average (5 of 7 at 98% or more, against 4 of 7), with wild
    # memes never mirrored unchanged
    # (experiments/results/vision-mirror-2026-12-05.json).
    mirror: bool = False
    # After the BatchNorm re-estimation, fit the head again on the inference-
    # mode embeddings of this many fresh training batches (multinomial
    # logistic regression with inverse L2 strength ``refit_c``;
    # dank.models.vision.refit). 0 = keep the trained head.
    refit_batches: int = 0
    refit_c: float = 1.0
    # Shares of training memes with the heavier effects of the wild (None:
    # augment's COVER_PROB 0.1, FRAME_PROB 0.08 and no stacking). The
    # validation memes keep augment's.
    cover_prob: float | None = None  # A caption box over the subject.
    stack_prob: float | None = None  # Another template's picture stacked on.
    frame_prob: float | None = None  # A social-media screenshot frame.

    def to_dict(self):
        """Returns the config as a JSON-able dict (for run.json)."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """Returns a copy with ``changes`` applied (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)

    def __post_init__(self):
        if self.conv_dtype not in CONV_DTYPES:
            raise DankError(
                f"conv_dtype must be one of {', '.join(CONV_DTYPES)}, "
                f"got {self.conv_dtype!r}"
            )
        if self.refit_batches < 0 or self.refit_c <= 0:
            raise DankError(
                "refit_batches must be >= 0 and refit_c > 0, got "
                f"{self.refit_batches} and {self.refit_c}"
            )
        for name in ("flip_prob", "cover_prob", "stack_prob", "frame_prob"):
            share = getattr(self, name)
            if share is not None and not 0.0 <= share <= 1.0:
                raise DankError(f"{name} must be in [0, 1], got {share}")

    def wild_shares(self):
        """The training memes' shares of ``augment``'s wild effects that this
        config sets: {"cover", "stacked", "screenshot": share}."""
        shares = {
            "cover": self.cover_prob,
            "stacked": self.stack_prob,
            "screenshot": self.frame_prob,
        }
        return {name: share for name, share in shares.items() if share is not None}

    def trains_in_bfloat16(self):
        """Whether the training step's convolutions run in bfloat16 here."""
        if self.conv_dtype != "auto":
            return self.conv_dtype == "bfloat16"
        from dank.core.machine import fast_cpu_bf16_convolutions

        if not fast_cpu_bf16_convolutions():
            return False
        import tensorflow as tf

        return not tf.config.list_physical_devices("GPU")


PRESETS = {
    # For tests: still ResNet50, a handful of steps on tiny images.
    "tiny": VisionConfig(
        image_size=32,
        batch_size=8,
        steps=6,
        steps_per_epoch=2,
        learning_rate=1e-3,
        warmup_steps=1,
        weight_decay=1e-4,
        head_steps=2,
        dropout=0.0,
        label_smoothing=0.0,
        canvas_scale=1.25,
        min_crop_area=0.6,
        jpeg_quality=(40, 95),
        caption_bank=8,
        val_per_template=2,
        val_unknown=8,
        bn_batches=2,
        shuffle_buffer=64,
        seed=1234,
        jit_compile=False,
        mirror=True,
        refit_batches=2,
    ),
    # The starter set (~100 templates) on a 2-core CPU in about 12 minutes.
    # Progressive resizing: 240 steps at 64 px (45-58 images/s here), then
    # 240 at 96 px (21-29): 629 s of training instead of 726 s for 480 steps
    # at 96 px, at the same quality (validation top-1 wild 90.4%, light 98.6%;
    # wild stand-in 80.0% against 82.0%). 320 + 160 steps trained in 485-558
    # s but fell to 68.5% on the wild stand-in; 400 + 80 lost 6 points of
    # validation (experiments/results/make-train-levers.json).
    "cpu": VisionConfig(
        image_size=96,
        batch_size=32,
        steps=480,
        steps_per_epoch=40,
        learning_rate=2e-3,
        warmup_steps=30,
        weight_decay=1e-4,
        head_steps=60,
        dropout=0.2,
        label_smoothing=0.1,
        canvas_scale=1.25,
        min_crop_area=0.55,
        jpeg_quality=(25, 95),
        caption_bank=512,
        val_per_template=5,
        val_unknown=300,
        bn_batches=20,
        shuffle_buffer=4096,
        seed=1234,
        jit_compile=False,
        small_size=64,
        small_steps=240,
        conv_dtype="auto",
        mirror=True,
        # The head fitted again on 6,400 fresh memes' inference-mode
        # embeddings: seven `make train` models went 98.5% -> 99.1% light
        # validation top-1 on average, 5 -> 7 of 7 at 98% or more (the two
        # under it: 96.8 -> 98.4 and 99.0), wild 90.5% -> 91.7%, known
        # recall 81.0% -> 80.1%; C = 0.1 over 1.0 and 200 over 100 batches
        # (experiments/results/vision-refit-2026-12-05.json). About 30 s of
        # embedding plus a 5-90 s fit in `make train`.
        refit_batches=200,
        refit_c=0.1,
    ),
    # The paper's input size; meant for a GPU.
    "paper": VisionConfig(
        image_size=224,
        batch_size=64,
        steps=20000,
        steps_per_epoch=500,
        learning_rate=1e-3,
        warmup_steps=500,
        weight_decay=1e-4,
        head_steps=1000,
        dropout=0.2,
        label_smoothing=0.1,
        canvas_scale=1.25,
        min_crop_area=0.55,
        jpeg_quality=(25, 95),
        caption_bank=1024,
        val_per_template=10,
        val_unknown=1000,
        bn_batches=50,
        shuffle_buffer=8192,
        seed=1234,
        jit_compile=True,
    ),
}

# Every merged template of the full catalogue (2,980; 3,052 before the keypoint
# merge stage) on a 2-core CPU: the `cpu` preset at 64 px (ResNet50 trains
# about twice as fast as at 96 px), with bigger batches and more steps. 2,900
# steps: 1,900 trained in 707-1,237 s
# (98-172 images/s with bfloat16 convolutions and FusedBatchNorm, by the day)
# and reached 74.7% on the wild stand-in (84.7% with the views); 2,900 gave
# 79.8% (88.5%) at the same clean 99.0% and take about 1.5x the time (about 31
# minutes of training on the slowest day measured:
# experiments/results/vision-full-2900-2026-12-05.json). Last 500 steps at
# 96 px instead: +0.4 with the views, not kept (vision-full-96px-2026-12-05.json).
# It is meant to start from the starter model's backbone (`make
# train-full` passes --weights) with the head imprinted from that backbone's
# embeddings of the templates: 42% top-1 on the full validation set before any
# training, where a random head still had 0.1% training top-1 after 400 steps.
PRESETS["full"] = PRESETS["cpu"].replace(
    image_size=64,
    batch_size=64,
    steps=2900,
    steps_per_epoch=100,
    warmup_steps=100,
    head_steps=100,
    caption_bank=1024,
    val_per_template=2,
    learning_rate=1e-3,
    imprint=True,
    small_size=0,  # Already at 64 px.
    small_steps=0,
    # The wild stand-in's shares (tools/render_eval_memes.py WILD_PROBS):
    # covering boxes, stacked pictures and screenshots were its weakest
    # effects when training drew them at 10%, 0% and 8%. With these the
    # stand-in went 96.0% -> 97.2% with the views and the second look on the
    # same 2,980 memes, in the same training time
    # (experiments/results/vision-full-heavier-2026-12-05.json).
    cover_prob=0.25,
    stack_prob=0.12,
    frame_prob=0.2,
    # Not measured on the full catalogue: 200 batches would give each of its
    # 2,980 templates about four memes.
    refit_batches=0,
    # mirror (from `cpu`): on the wild stand-in, which has no mirrored memes,
    # it cost nothing (97.0% -> 97.0% with the views and the second look,
    # 89.5% -> 89.5% alone: vision-full-mirror-margin-2026-12-05.json); the
    # first, averaging version had cost 0.3 (vision-full-mirror-2026-12-05.json).
)


def get_config(preset):
    """Returns the preset ``preset`` or raises ``DankError`` naming the choices."""
    if preset not in PRESETS:
        raise DankError(
            f"unknown vision preset {preset!r}; choose from {', '.join(PRESETS)}"
        )
    return PRESETS[preset]
