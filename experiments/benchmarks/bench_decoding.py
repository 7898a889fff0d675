"""Decoding speed: per-step Python loop vs tf.function graph vs XLA.

Stand-in model at the paper's size (LSTM 512, embeddings 300, vocabulary
38,821) with random weights, written with plain ``keras.ops`` matmuls, since
only the shapes matter for speed. Each mode runs the same beam search
(``dank.decoding.decode``, beam 5, max length 25):

- ``python``: im2txt's way. The model step is one compiled graph call per token
  (im2txt ran ``sess.run`` per step) and the beam bookkeeping runs eagerly,
  op by op, from a Python loop (``tf.while_loop`` in eager mode is one).
- ``graph``: the whole search in one ``tf.function``.
- ``xla``: the same with ``jit_compile=True``.
- ``xla_model_only``: just the 25 model steps in an XLA while-loop, no search,
  to show how much of the time is the model and how much the search (full
  mode only).

``--logits-dtype bfloat16`` multiplies the vocabulary projection's operands
in bfloat16 (``dank.models.language.models.project``, the caption model's
``logits_dtype``); the FLOPs counted and the ceiling stay fp32's.

FLOPs per row and step: the LSTM's 2 * 4u * (e + u) plus the vocabulary
projection's 2 * u * V; a batch runs B * K rows for every step it takes. Figures
are captions/s (median, min, max over repeats after warm-up); ratios are each
mode over the Python loop and the achieved GFLOP/s over the run's fp32 matmul
ceiling (``ceiling.py``; issue 10's target for beam-5 at batch 32: >= 0.7).
The numpy rate of the projection's own matmul shape is reported too, as a
figure (not a divisor).

Usage: python -m experiments.benchmarks.bench_decoding [--quick] [--method beam]
    [--batches 1,32]
"""

from experiments.benchmarks import common

common.setup_env()

import numpy as np  # noqa: E402

UNITS, EMBED, VOCAB = 512, 300, common.VOCAB["paper"]


def make_step_fn(units=UNITS, embed=EMBED, vocab=VOCAB, seed=0, logits_dtype="float32"):
    """A random LSTM caption step at the given size (uniform +-0.08, as the
    paper), its vocabulary projection's operands in ``logits_dtype``."""
    import keras
    import tensorflow as tf
    from keras import ops

    from dank.core import constants
    from dank.models.language.models import project

    rng = np.random.default_rng(seed)

    def weight(*shape):
        return tf.Variable(rng.uniform(-0.08, 0.08, shape).astype(np.float32))

    emb, w, b = (
        weight(vocab, embed),
        weight(embed + units, 4 * units),
        weight(4 * units),
    )
    wp, bias = weight(units, vocab), rng.uniform(-0.08, 0.08, vocab)
    # A random model ranks "</s>" alone first and the bound stops the search
    # after a step or two; never ending makes every run do all max_len steps,
    # the worst case and a fixed amount of work to time.
    bias[constants.END_ID] = -np.inf
    bp = tf.Variable(bias.astype(np.float32))

    def step_fn(tokens, state, kernel=None):
        h, c = state
        x = ops.take(emb, tokens, axis=0)
        z = ops.matmul(ops.concatenate([x, h], axis=-1), w) + b
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = keras.activations.sigmoid(f) * c + keras.activations.sigmoid(i) * ops.tanh(
            g
        )
        h = keras.activations.sigmoid(o) * ops.tanh(c)
        return project(h, wp if kernel is None else kernel, bp, logits_dtype), (h, c)

    # As CaptionModel.prepare_step: the decoders cast the kernel once per search.
    step_fn.prepare = lambda: {"kernel": ops.cast(wp, logits_dtype)}
    return step_fn


def bench_batch(step_fn, config, batch, reps, python_reps, model_only_too=True):
    """Seconds per decode (``common.stats``) of each mode, and the steps taken."""
    import tensorflow as tf

    from dank.decoding import compiled_decoder, decode

    rng = np.random.default_rng(batch)
    state = (
        tf.constant(rng.standard_normal((batch, UNITS)).astype(np.float32) * 0.1),
        tf.zeros([batch, UNITS]),
    )
    seed = tf.constant([1, 2], tf.int32)
    graph_step = tf.function(step_fn, jit_compile=False)
    runs = {
        "python": lambda: decode(graph_step, state, config, seed=seed),
        "graph": compiled_decoder(step_fn, config),
        "xla": compiled_decoder(step_fn, config, jit_compile=True),
    }
    rows = batch * config.beam_size
    big_state = tuple(tf.repeat(s, config.beam_size, axis=0) for s in state)

    @tf.function(jit_compile=True)
    def model_only(state):
        tokens = tf.fill([rows], 2)

        def body(t, tokens, state):
            logits, state = step_fn(tokens, state)
            return t + 1, tf.argmax(logits, -1, output_type=tf.int32), state

        return tf.while_loop(
            lambda t, *_: t < config.max_len, body, (0, tokens, state)
        )[1]

    results = {}
    for mode, fn in runs.items():
        if mode == "python":
            # Tracing the one-step graph is the only warm-up this mode needs.
            graph_step(tf.fill([rows], 2), big_state)
            results[mode] = common.measure(
                lambda fn=fn: fn().tokens.numpy(), python_reps, warmup=0
            )
        else:
            results[mode] = common.measure(
                lambda fn=fn: fn(state, seed).tokens.numpy(), reps
            )
    # The stand-in never says </s>, so every search runs max_len steps.
    steps = int(np.max(runs["xla"](state, seed).lengths.numpy()))
    if model_only_too:
        results["xla_model_only"] = common.measure(
            lambda: model_only(big_state).numpy(), reps
        )
    return results, steps


def main(argv=None):
    parser = common.make_parser(__doc__)
    parser.add_argument(
        "--method",
        default="beam",
        choices=["beam", "diverse"],
        help="decoder to time (default %(default)s)",
    )
    parser.add_argument("--batches", default=None, help="default 32 quick, 1,32 full")
    common.add_logits_dtype(parser)
    args = parser.parse_args(argv)

    from dank.decoding import DecodeConfig
    from dank.models.language.models import resolve_logits_dtype

    args.logits_dtype = resolve_logits_dtype(args.logits_dtype)

    config = DecodeConfig(method=args.method, beam_size=5, max_len=25)
    ceiling = common.ceilings(args)
    step_fn = make_step_fn(logits_dtype=args.logits_dtype)
    reps, python_reps = (2, 1) if args.quick else (5, 3)
    batches = [
        int(b) for b in (args.batches or ("32" if args.quick else "1,32")).split(",")
    ]
    result = common.make_result(
        "decoding",
        args,
        {
            "method": args.method,
            "beam_size": config.beam_size,
            "max_len": config.max_len,
            "units": UNITS,
            "embed": EMBED,
            "vocab": VOCAB,
            "logits_dtype": args.logits_dtype,
            "batches": batches,
            "repeats": reps,
            "python_repeats": python_reps,
            "xla": {
                "python": False,
                "graph": False,
                "xla": True,
                "xla_model_only": True,
            },
        },
    )
    result["ceiling"] = ceiling
    figures, ratios = result["figures"], result["ratios"]
    for batch in batches:
        rows = batch * config.beam_size
        figures[f"b{batch}_projection_numpy_gflops"] = common.numpy_matmul_rate(
            rows, UNITS, VOCAB, repeats=reps
        )
        times, steps = bench_batch(
            step_fn, config, batch, reps, python_reps, model_only_too=not args.quick
        )
        gflop = steps * rows * common.caption_flops(UNITS, EMBED, VOCAB) / 1e9
        for mode, seconds in times.items():
            figures[f"b{batch}_{mode}_captions_per_s"] = common.rates(
                seconds, batch, "captions/s"
            )
            gflops = common.rates(seconds, gflop, "GFLOP/s")
            figures[f"b{batch}_{mode}_gflops"] = gflops
            if mode != "python":
                ratios[f"b{batch}_{mode}_vs_python"] = common.ratio(
                    times["python"], seconds
                )
            common.ceiling_fractions(ratios, f"b{batch}_{mode}", gflops, ceiling)
        result[f"b{batch}_steps"] = steps
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
