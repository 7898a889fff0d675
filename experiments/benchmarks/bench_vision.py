"""Speed of the ResNet50 template classifier against this machine's matmul ceiling.

Measures, in one process, so only ratios are compared:

* training images/s of ``train_on_batch`` on an in-memory batch, with and
  without XLA (``jit_compile``; quick mode: without only), and the input
  pipeline's images/s (``dank.models.vision.data.train_dataset`` on ``--data``: TFRecord
  read, decode, augment, batch); ``pipeline_vs_training`` must stay >= 5 so
  tf.data never starves the model;
* where oneDNN multiplies bfloat16 natively (AVX512_BF16 or AMX), training
  images/s again with the bfloat16 convolutions the presets train with there
  (``conv_dtype="auto"``), and its ratio to float32;
* inference images/s at batch 1 and batch 32, and where the preset's model
  is mirror-blind (``VisionConfig.mirror``) the same model's with it, and the
  ratio (it looks at each picture twice);
* ``*_of_ceiling``: achieved FLOP/s over the run's fp32 ceiling (``ceiling.py``),
  counting ResNet50 as 4.1 GMAC (8.2 GFLOP) per 224x224 image forward, scaled
  by (S/224)^2, and a training step as 3x the forward.

Usage: python -m experiments.benchmarks.bench_vision [--quick] [--preset cpu
    --steps 5 --data data/build/starter --n-templates 100 --no-xla --batch 32]
"""

from experiments.benchmarks import common

common.setup_env()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dank.core.machine import (  # noqa: E402
    fast_cpu_bf16_convolutions,
    onednn_bfloat16,
)
from dank.models.vision.config import get_config  # noqa: E402
from experiments.benchmarks import standins  # noqa: E402

RESNET50_GFLOP_224 = 8.2  # Forward, 2 FLOP per multiply-add.


def train_rate(preset, config, n_templates, jit, steps):
    """Training images/s (``common.rates``) and the model, for one XLA setting."""
    model = standins.classifier(preset, n_templates)
    train = keras.Model(model.inputs, model.get_layer("logits").output)
    train.compile(
        keras.optimizers.AdamW(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    rng = np.random.default_rng(0)
    s, b = config.image_size, config.batch_size
    x = rng.uniform(0, 255, (b, s, s, 3)).astype("float32")
    y = rng.integers(0, n_templates, b)
    seconds = common.measure(lambda: train.train_on_batch(x, y), steps)
    return common.rates(seconds, b, "images/s"), model


def infer_rate(model, batch, jit, steps, size):
    """Inference images/s at ``batch`` (``common.rates``)."""
    forward = tf.function(lambda x: model(x, training=False)["logits"], jit_compile=jit)
    x = tf.random.uniform((batch, size, size, 3), 0, 255)
    seconds = common.measure(lambda: forward(x).numpy(), steps)
    return common.rates(seconds, batch, "images/s")


def mirror_rates(model, args, steps, size, figures, ratios):
    """Inference images/s of ``model`` rebuilt mirror-blind, at batch 1 and 32,
    and their ratios to ``model``'s own (``no_xla_infer_b*``)."""
    mirror = standins.classifier(args.preset, args.n_templates, mirror=True)
    mirror.set_weights(model.get_weights())
    for batch in (1, 32):
        rate = infer_rate(mirror, batch, False, steps, size)
        figures[f"mirror_infer_b{batch}_images_per_s"] = rate
        ratios[f"mirror_vs_plain_infer_b{batch}"] = common.ratio(
            rate, figures[f"no_xla_infer_b{batch}_images_per_s"]
        )


def pipeline_rate(data_dir, config, batches, repeats):
    """Images/s of the training input pipeline alone (``common.rates``)."""
    from dank.models.vision.data import train_dataset

    iterator = iter(train_dataset(data_dir, config))

    def take():
        for _ in range(batches):
            next(iterator)

    seconds = common.measure(take, repeats)
    return common.rates(seconds, batches * config.batch_size, "images/s")


def main(argv=None):
    parser = common.make_parser(__doc__)
    parser.add_argument(
        "--preset", default="cpu", help="vision preset (default %(default)s)"
    )
    parser.add_argument("--steps", type=int, default=None, help="timed repeats")
    parser.add_argument(
        "--n-templates", type=int, default=100, help="classes of the stand-in model"
    )
    parser.add_argument("--data", help="a data build, to time the input pipeline")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA cases")
    parser.add_argument("--batch", type=int, help="training batch (else the preset's)")
    args = parser.parse_args(argv)
    config = get_config(args.preset)
    if args.batch:
        config = config.replace(batch_size=args.batch)
    size = config.image_size
    gflop = RESNET50_GFLOP_224 * (size / 224) ** 2
    steps = args.steps or (2 if args.quick else 5)
    xla_cases = (False,) if args.no_xla or args.quick else (False, True)
    ceiling = common.ceilings(args)
    result = common.make_result(
        "vision",
        args,
        {
            "preset": args.preset,
            "image_size": size,
            "batch_size": config.batch_size,
            "n_templates": args.n_templates,
            "repeats": steps,
            "xla": list(xla_cases),
            "gflop_per_image_forward": round(gflop, 3),
        },
    )
    result["ceiling"] = ceiling
    figures, ratios = result["figures"], result["ratios"]
    for jit in xla_cases:
        tag = "xla" if jit else "no_xla"
        rate, model = train_rate(args.preset, config, args.n_templates, jit, steps)
        figures[f"{tag}_train_images_per_s"] = rate
        common.ceiling_fractions(
            ratios, f"{tag}_train", 3 * gflop * rate["median"], ceiling
        )
        for batch in (1, 32):
            r = infer_rate(model, batch, jit, steps, size)
            figures[f"{tag}_infer_b{batch}_images_per_s"] = r
            common.ceiling_fractions(
                ratios, f"{tag}_infer_b{batch}", gflop * r["median"], ceiling
            )
        if config.mirror and not jit:
            mirror_rates(model, args, steps, size, figures, ratios)
        del model
        keras.backend.clear_session()
    if fast_cpu_bf16_convolutions():
        # The presets' conv_dtype="auto" here: oneDNN's bfloat16 rewrite of the
        # training step (float32 variables and statistics), without XLA.
        with onednn_bfloat16():
            rate, model = train_rate(
                args.preset, config, args.n_templates, False, steps
            )
        del model
        keras.backend.clear_session()
        figures["bf16_train_images_per_s"] = rate
        common.ceiling_fractions(
            ratios, "bf16_train", 3 * gflop * rate["median"], ceiling
        )
        ratios["bf16_vs_no_xla_train"] = common.ratio(
            rate, figures["no_xla_train_images_per_s"]
        )
    if xla_cases == (False, True):
        ratios["xla_vs_no_xla_train"] = common.ratio(
            figures["xla_train_images_per_s"], figures["no_xla_train_images_per_s"]
        )
    if args.data:
        figures["pipeline_images_per_s"] = pipeline_rate(
            args.data, config, 4 if args.quick else 10, steps
        )
        fastest = max(
            figure["median"]
            for name, figure in figures.items()
            if name.endswith("_train_images_per_s")
        )
        ratios["pipeline_vs_training"] = common.ratio(
            figures["pipeline_images_per_s"], fastest
        )
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
