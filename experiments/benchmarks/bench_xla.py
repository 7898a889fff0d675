"""XLA on against off, same process: caption training and decoding.

``dank train language --jit-compile auto`` leaves XLA off on a CPU and turns it
on with a GPU or TPU; this benchmark shows what that choice is worth here. It
times, alternately so both share the machine's noise:

* ``train_xla_vs_graph``: tokens/s of the real ``CaptionModel`` (the preset's
  sizes and dropout, static caption length as under XLA) with
  ``jit_compile=True`` over without; ``train_xla_vs_graph_no_dropout`` the same
  with dropout off. They differ: XLA's random numbers for the dropout masks are
  slow on a CPU (on 2026-12-03 here, dropout 0.1 took XLA from 1.13x graph
  mode to 0.50x), which is why a real ``dank train language --jit-compile on``
  ran at about half graph mode's speed;
* ``decode_xla_vs_graph``: captions/s of the compiled diverse-beam decoder
  (the paper's: beam 5, 25 tokens) with ``jit_compile=True`` over without.

A ratio above 1 means XLA pays on this machine.

Usage: python -m experiments.benchmarks.bench_xla [--quick] [--preset cpu]
"""

from experiments.benchmarks import common

common.setup_env()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dank.decoding import DecodeConfig, compiled_decoder  # noqa: E402
from dank.models.language.config import get_preset  # noqa: E402
from dank.models.language.losses import MaskedCrossEntropy  # noqa: E402
from dank.models.language.models import CaptionModel  # noqa: E402

TEMPLATES = 100  # Templates in the catalogue (the starter set's).


def training(config, vocab, length, jit):
    """A compiled caption model and its ``train_on_batch`` on one fixed batch."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(5, vocab, (config.batch_size, length + 1)).astype("int32")
    x = {
        "tokens": tokens[:, :-1],
        "label": rng.integers(0, TEMPLATES, config.batch_size).astype("int32"),
    }
    keras.utils.set_random_seed(0)
    model = CaptionModel(config, vocab, TEMPLATES)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=MaskedCrossEntropy(),
        jit_compile=jit,
    )
    return lambda: model.train_on_batch(x, tokens[:, 1:])


def decoding(model, batch, jit):
    """The paper's diverse beam over ``batch`` templates, compiled."""
    config = DecodeConfig(method="diverse", beam_size=5, num_return=1, max_len=25)
    run = compiled_decoder(model.step, config, jit_compile=jit)
    state = model.initial_state(
        {
            "template": tf.one_hot(np.arange(batch), TEMPLATES),
            "image": tf.zeros([batch, model.config.image_dim]),
        }
    )
    seed = tf.constant([1, 2], tf.int32)
    return lambda: run(state, seed).tokens.numpy()


def main(argv=None):
    parser = common.make_parser(__doc__)
    parser.add_argument(
        "--preset",
        default="cpu",
        choices=sorted(common.VOCAB),
        help="caption model size and vocabulary (default %(default)s)",
    )
    parser.add_argument("--length", type=int, default=16, help="tokens per caption")
    parser.add_argument(
        "--decode-batch", type=int, default=32, help="captions decoded at once"
    )
    args = parser.parse_args(argv)
    config = get_preset(args.preset)
    vocab = common.VOCAB[args.preset]
    steps, rounds = (2, 3) if args.quick else (5, 5)
    result = common.make_result(
        "xla",
        args,
        {
            "preset": args.preset,
            "batch": config.batch_size,
            "length": args.length,
            "vocab": vocab,
            "decode_batch": args.decode_batch,
            "dropout": config.dropout,
            "steps": steps,
            "rounds": rounds,
        },
    )
    figures, ratios = result["figures"], result["ratios"]

    tokens = config.batch_size * args.length
    for suffix, dropout in (("", config.dropout), ("_no_dropout", 0.0)):
        trained = config.replace(dropout=dropout)
        fns = {
            f"xla_{jit}{suffix}": training(trained, vocab, args.length, jit)
            for jit in (False, True)
        }
        seconds = common.interleaved(fns, rounds, number=steps)
        for name, s in seconds.items():
            figures[f"train_{name}_tokens_per_s"] = common.rates(s, tokens, "tokens/s")
        ratios[f"train_xla_vs_graph{suffix}"] = common.ratio(
            figures[f"train_xla_True{suffix}_tokens_per_s"],
            figures[f"train_xla_False{suffix}_tokens_per_s"],
        )

    keras.utils.set_random_seed(0)
    model = CaptionModel(config.replace(dropout=0.0), vocab, TEMPLATES)
    model({"tokens": np.zeros((1, 2), "int32"), "label": np.zeros(1, "int32")})
    fns = {
        f"xla_{jit}": decoding(model, args.decode_batch, jit) for jit in (False, True)
    }
    seconds = common.interleaved(fns, rounds, number=1)
    for name, s in seconds.items():
        figures[f"decode_{name}_captions_per_s"] = common.rates(
            s, args.decode_batch, "captions/s"
        )
    ratios["decode_xla_vs_graph"] = common.ratio(
        figures["decode_xla_True_captions_per_s"],
        figures["decode_xla_False_captions_per_s"],
    )
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
