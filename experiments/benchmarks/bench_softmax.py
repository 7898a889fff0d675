"""Caption training speed by output layer: full vs adaptive softmax, same process.

Builds the preset's ``CaptionModel`` (template variant, random weights) twice,
with the full softmax and with an adaptive one (``--cutoffs``, the ``cpu``
preset's by default), and times ``train_on_batch`` alternately (so both share
the machine's noise) on the same batches. The targets follow Zipf's law (the
log-uniform distribution over frequency-sorted ids: 75% of them fall in the
1,000 most frequent of 10.5k words, against 86% in the starter build's
training captions), because the adaptive softmax's cost depends on how many
targets fall in its tail. Reports:

* ``adaptive_vs_full``: adaptive tokens/s over full-softmax tokens/s. The
  adaptive softmax skips most of the full one's FLOPs, so its speed is a
  ratio to the full softmax, not a fraction of the ceiling (``bench_lstm``
  gives the full softmax's).

Usage: python -m experiments.benchmarks.bench_softmax [--quick] [--preset cpu]
    [--cutoffs 1000,4000] [--batch 64 --length 16 --steps 5 --rounds 3]
"""

from experiments.benchmarks import common

common.setup_env()

import numpy as np  # noqa: E402

from experiments.benchmarks import standins  # noqa: E402


def zipf_batch(vocab, templates, batch, length, seed=0):
    """``(x, y)``: tokens drawn log-uniformly over the ids (Zipf, the sampled
    softmax's sampler ``losses.log_uniform_sample``), no padding."""
    import keras

    from dank.models.language.losses import log_uniform_sample

    draw = log_uniform_sample(
        vocab, batch * (length + 1), keras.random.SeedGenerator(seed)
    )
    tokens = np.clip(np.asarray(draw), 4, vocab - 1).astype("int32")
    tokens = tokens.reshape(batch, length + 1)
    labels = np.random.default_rng(seed).integers(0, templates, batch).astype("int32")
    return {"tokens": tokens[:, :-1], "label": labels}, tokens[:, 1:]


def main(argv=None):
    import keras

    from dank.models.language.config import get_preset

    parser = common.make_parser(__doc__)
    parser.add_argument("--preset", default="cpu", choices=sorted(common.VOCAB))
    parser.add_argument(
        "--cutoffs",
        default=None,
        help="the adaptive softmax's head size and cluster starts, e.g. "
        "1000,4000 (default: the preset's, else 1000,4000)",
    )
    parser.add_argument("--batch", type=int, default=None, help="preset's if omitted")
    parser.add_argument("--length", type=int, default=16, help="tokens per caption")
    parser.add_argument("--steps", type=int, default=None, help="steps per round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds: 5 (quick 3)")
    args = parser.parse_args(argv)
    config = get_preset(args.preset)
    cutoffs = config.adaptive_softmax or (1000, 4000)
    if args.cutoffs:
        cutoffs = tuple(int(c) for c in args.cutoffs.split(","))
    args.batch = args.batch or config.batch_size
    args.steps = args.steps or (2 if args.quick else 5)
    args.rounds = args.rounds or (3 if args.quick else 5)
    vocab = common.VOCAB[args.preset]
    params = {
        "preset": args.preset,
        "cutoffs": list(cutoffs),
        **{k: getattr(args, k) for k in ("batch", "length", "steps", "rounds")},
        "vocab": vocab,
    }
    result = common.make_result("softmax", args, params)
    figures, ratios = result["figures"], result["ratios"]

    models = {}
    for name, adaptive in (("full", ()), ("adaptive", cutoffs)):
        model = standins.caption_model(
            args.preset, vocab=vocab, adaptive_softmax=adaptive, sampled_softmax=0
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        models[name] = model
    x, y = zipf_batch(vocab, 100, args.batch, args.length)
    result["head_share"] = round(float(np.mean(y < cutoffs[0])), 3)
    seconds = common.interleaved(
        {
            name: (lambda m=model: m.train_on_batch(x, y))
            for name, model in models.items()
        },
        args.rounds,
        number=args.steps,
    )
    tokens = args.batch * args.length
    for name, s in seconds.items():
        figures[f"{name}_tokens_per_s"] = common.rates(s, tokens, "tokens/s")
    ratios["adaptive_vs_full"] = common.ratio(
        figures["adaptive_tokens_per_s"], figures["full_tokens_per_s"]
    )
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
