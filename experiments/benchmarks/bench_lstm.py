"""Caption training speed: dank's ConditionedLSTM vs keras.layers.LSTM, same process.

Builds two caption-like models with the same sizes (Embedding -> LSTM ->
Dense(V), cross-entropy), times ``train_on_batch`` alternately (so both share
the machine's noise) and reports:

* ``custom_vs_builtin``: custom tokens/s over built-in tokens/s (target >= 0.95),
  for the full model and for the LSTM alone (``lstm_only_custom_vs_builtin``);
* ``train_of_ceiling``: achieved training FLOP/s of the full custom model over
  the run's fp32 matmul ceiling (``ceiling.py``: the best of TensorFlow's and
  unpinned numpy's; issue 10's target: >= 0.7). Training FLOPs per token are
  3x the forward matmuls (forward + two backward).

``--logits-dtype bfloat16`` runs the vocabulary projection's matmul on
bfloat16 operands in the custom model (the built-in one's head is the same
layer), as ``LanguageConfig.logits_dtype`` does; FLOPs and the ceiling stay
fp32's.

Sizes come from the language presets (``--preset cpu``: the starter set's
vocabulary, ``paper``: the paper's LSTM 512 / embeddings 300 / 38,821 words).

Usage: python -m experiments.benchmarks.bench_lstm [--quick] [--preset cpu]
    [--batch 32 --length 16 --steps 5 --rounds 3 --unroll --jit]
"""

from experiments.benchmarks import common

common.setup_env()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from dank.models.language.config import get_preset  # noqa: E402
from dank.models.language.lstm import ConditionedLSTM  # noqa: E402
from dank.models.language.models import project, resolve_logits_dtype  # noqa: E402


class Projection(keras.layers.Dense):
    """``Dense`` whose matmul runs like the caption model's (``project``)."""

    def __init__(self, units, logits_dtype="float32", **kwargs):
        super().__init__(units, **kwargs)
        self.logits_dtype = logits_dtype

    def call(self, inputs):
        return project(inputs, self.kernel, self.bias, self.logits_dtype)


def build(kind, args, head=True):
    """An Embedding -> LSTM (-> Dense) model compiled for training."""
    tokens = keras.Input((args.length,), dtype="int32")
    x = keras.layers.Embedding(args.vocab, args.embedding)(tokens)
    if kind == "custom":
        x = ConditionedLSTM(args.units, unroll=args.unroll)(x)
    else:
        x = keras.layers.LSTM(args.units, return_sequences=True, unroll=args.unroll)(x)
    if head:
        x = Projection(args.vocab, args.logits_dtype)(x)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss = "mse"
    model = keras.Model(tokens, x)
    model.compile(keras.optimizers.Adam(1e-3), loss=loss, jit_compile=args.jit)
    return model


def time_models(models, batch, target, steps, rounds):
    """Seconds per step of each model (``common.stats``), alternating rounds."""
    return common.interleaved(
        {
            name: (lambda m=model, n=name: m.train_on_batch(batch, target[n]))
            for name, model in models.items()
        },
        rounds,
        number=steps,
    )


def main(argv=None):
    parser = common.make_parser(__doc__)
    parser.add_argument(
        "--preset",
        default="cpu",
        choices=sorted(common.VOCAB),
        help="caption model size and vocabulary (default %(default)s)",
    )
    parser.add_argument("--batch", type=int, default=None, help="preset's if omitted")
    parser.add_argument("--length", type=int, default=16, help="tokens per caption")
    parser.add_argument("--steps", type=int, default=None, help="steps per round")
    parser.add_argument(
        "--rounds", type=int, default=None, help="alternating rounds: 5 (quick 3)"
    )
    parser.add_argument(
        "--unroll", action="store_true", help="unroll the LSTMs over time"
    )
    parser.add_argument("--jit", action="store_true", help="compile with XLA")
    common.add_logits_dtype(parser)
    args = parser.parse_args(argv)
    args.logits_dtype = resolve_logits_dtype(args.logits_dtype)
    config = get_preset(args.preset)
    args.embedding, args.units = config.embedding_dim, config.units
    args.vocab = common.VOCAB[args.preset]
    args.batch = args.batch or config.batch_size
    args.steps = args.steps or (2 if args.quick else 5)
    args.rounds = args.rounds or (3 if args.quick else 5)
    ceiling = common.ceilings(args)

    rng = np.random.default_rng(0)
    batch = rng.integers(1, args.vocab, (args.batch, args.length)).astype("int32")
    tokens = args.batch * args.length
    params = {
        k: getattr(args, k)
        for k in (
            "preset",
            "batch",
            "length",
            "embedding",
            "units",
            "vocab",
            "steps",
            "rounds",
            "unroll",
            "jit",
            "logits_dtype",
        )
    }
    result = common.make_result("lstm", args, params)
    result["ceiling"] = ceiling
    figures, ratios = result["figures"], result["ratios"]
    heads = (True,) if args.quick else (True, False)
    for head in heads:
        models = {kind: build(kind, args, head) for kind in ("custom", "builtin")}
        zeros = np.zeros((args.batch, args.length, args.units), "float32")
        target = dict.fromkeys(models, batch if head else zeros)
        seconds = time_models(models, batch, target, args.steps, args.rounds)
        prefix = "" if head else "lstm_only_"
        for kind, s in seconds.items():
            figures[f"{prefix}{kind}_tokens_per_s"] = common.rates(
                s, tokens, "tokens/s"
            )
        ratios[f"{prefix}custom_vs_builtin"] = common.ratio(
            figures[f"{prefix}custom_tokens_per_s"],
            figures[f"{prefix}builtin_tokens_per_s"],
        )
        if head:
            e, u, v = args.embedding, args.units, args.vocab
            forward = common.caption_flops(u, e, v)  # FLOPs per token.
            figures["train_gflops"] = common.scale(
                figures["custom_tokens_per_s"], 3 * forward / 1e9, "GFLOP/s"
            )
            common.ceiling_fractions(ratios, "train", figures["train_gflops"], ceiling)
            result["projection_flop_share"] = round(u * v / (forward / 2), 3)
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
