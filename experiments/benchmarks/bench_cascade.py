"""The cascade end to end: image bytes -> template -> beam captions -> drawn meme.

Reports, in one process, at the ``cpu`` or ``paper`` model sizes (``--preset``):

* ``end_to_end_b1``: latency p50/p95 of one picture through the compiled
  ``Cascade.generate`` (decode, resize, ResNet50, beam-5 captions,
  detokenise) plus drawing the meme and writing its PNG; ``end_to_end_b32``:
  pictures/s of the same at batch 32. ``generate_*``: the compiled graph alone;
* the stages, each timed alone at both batch sizes: ``decode_resize`` (JPEG
  bytes to pixels, in the graph), ``resnet`` (the classifier on pixels),
  ``caption_decode`` (beam search), ``detokenise`` (ids to top/bottom strings,
  in the graph, then to Python text) and ``render`` (Pillow: draw the caption,
  write the PNG). ``stage_shares_b1`` gives each stage's share of their sum;
* ``step_by_step_b1``: the same models called the way a plain Python program
  does, eagerly: pictures decoded and classified op by op, then the decoder's
  while-loop run eagerly (one Python iteration per token).
  ``compiled_vs_step_by_step_b1`` is its time over the compiled ``generate``
  (issue 10's target: >= 3).

Models: at ``--preset cpu`` the trained run (``--run``) when it has both models,
else, and always at ``paper``, dank's own models at the preset's sizes with
random weights (speed depends on shapes only); a random caption model is made
never to end early, so it decodes all 25 tokens, the worst case.

Usage: python -m experiments.benchmarks.bench_cascade [--quick] [--preset cpu]
    [--run runs/default] [--random] [--repeats 30]
"""

import tempfile
from pathlib import Path

from experiments.benchmarks import common

common.setup_env()

from experiments.benchmarks import standins  # noqa: E402

BEAM, MAX_LEN, N_TEMPLATES = 5, 25, 100


def build_cascade(args, config):
    """``(cascade, random weights?)`` for ``args.preset``."""
    from dank.cascade.module import Cascade

    use_run = (
        args.preset == "cpu" and not args.random and not common.missing_run(args.run)
    )
    if use_run:
        from dank.cascade.generator import MemeGenerator

        return MemeGenerator(args.run, config).cascade, False
    classifier = standins.classifier(args.preset, N_TEMPLATES)
    captioner = standins.never_end(standins.caption_model(args.preset, N_TEMPLATES))
    vocab = standins.vocab_tokens(captioner.vocab_size)
    cascade = Cascade(
        classifier,
        captioner,
        vocab,
        threshold=0.0,
        image_size=classifier.inputs[0].shape[1],
        decode_config=config,
    )
    return cascade, True


def stage_functions(cascade, seed):
    """The stages as functions of the previous stage's output (see the module
    docstring); each returns what the next stage takes."""
    import tensorflow as tf

    from dank.cascade.module import decode_and_resize
    from dank.decoding import decode, split_top_bottom

    size = cascade.image_size
    pixels = tf.function(
        lambda b: tf.map_fn(
            lambda x: decode_and_resize(x, size),
            b,
            fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32),
        )
    )
    resnet = tf.function(lambda x: cascade.classifier(x, training=False))
    model = cascade.captioner

    @tf.function
    def caption(outputs):
        weights = cascade.template_weights(tf.nn.softmax(outputs["logits"], -1))
        state = model.initial_state(
            {"template": weights, "image": outputs["embedding"]}
        )
        return decode(model.step, state, cascade.decode_config, seed=seed).tokens

    split = tf.function(lambda tokens: split_top_bottom(tokens[:, 0], cascade.vocab))

    def detokenise(tokens):
        top, bottom = split(tokens)
        return [(t.decode(), b.decode()) for t, b in zip(top.numpy(), bottom.numpy())]

    return {
        "decode_resize": lambda b: pixels(b).numpy(),
        "resnet": lambda x: {k: v.numpy() for k, v in resnet(x).items()},
        "caption_decode": lambda o: caption(o).numpy(),
        "detokenise": detokenise,
    }


def render(pictures, captions, out_dir):
    """Draws each caption on its picture and writes the PNG, as ``dank generate``."""
    from dank.render.meme import draw_meme, save_png

    for i, (image, (top, bottom)) in enumerate(zip(pictures, captions)):
        save_png(draw_meme(image, top, bottom), Path(out_dir) / f"{i}.png")


def step_by_step(cascade, image_bytes, seed):
    """The cascade's work done eagerly, outside any ``tf.function``."""
    import tensorflow as tf

    from dank.cascade.module import decode_and_resize
    from dank.decoding import decode, split_top_bottom

    images = tf.stack([decode_and_resize(b, cascade.image_size) for b in image_bytes])
    outputs = cascade.classifier(images, training=False)
    probs = tf.nn.softmax(outputs["logits"], axis=-1)
    weights = cascade.template_weights(probs)
    captioner = cascade.captioner
    condition = {"template": weights, "image": outputs["embedding"]}
    state = captioner.initial_state(condition)
    decoded = decode(captioner.step, state, cascade.decode_config, seed=seed)
    top, _ = split_top_bottom(decoded.tokens, cascade.vocab)
    return top.numpy()


def time_batch(fn, batch, repeats):
    """A batch-1 latency figure, or a pictures/s figure for larger batches."""
    if batch == 1:
        return common.latencies(fn, repeats)
    return common.rates(common.measure(fn, repeats), batch, "pictures/s")


def time_stages(cascade, stages, pictures, images, out_dir, seed, reps, figures):
    """Adds each stage's, ``generate``'s and the end-to-end figure at this batch."""
    import tensorflow as tf

    batch = len(pictures)
    tag = f"b{batch}" + ("_latency" if batch == 1 else "_pictures_per_s")
    value = data = tf.constant(pictures)
    for stage, fn in stages.items():
        figures[f"{stage}_{tag}"] = time_batch(lambda f=fn, v=value: f(v), batch, reps)
        value = fn(value)
    figures[f"render_{tag}"] = time_batch(
        lambda: render(images[:batch], value, out_dir), batch, reps
    )

    def generate():
        return cascade.generate(data, seed)

    def end_to_end():
        out = generate()
        texts = [
            (t.decode(), u.decode())
            for t, u in zip(out["top"].numpy()[:, 0], out["bottom"].numpy()[:, 0])
        ]
        render(images[:batch], texts, out_dir)

    figures[f"generate_{tag}"] = time_batch(
        lambda: generate()["tokens"].numpy(), batch, reps
    )
    figures[f"end_to_end_{tag}"] = time_batch(end_to_end, batch, reps)


def main(argv=None):
    parser = common.make_parser(__doc__, needs_run=True)
    parser.add_argument(
        "--preset",
        default="cpu",
        choices=("tiny", "cpu", "paper"),
        help="model sizes (cpu: the trained --run if it has one)",
    )
    parser.add_argument(
        "--random",
        action="store_true",
        help="random weights even when --run has a trained run",
    )
    parser.add_argument("--repeats", type=int, help="batch-1 latency samples")
    args = parser.parse_args(argv)

    import io

    import tensorflow as tf
    from PIL import Image

    from dank.decoding import DecodeConfig

    config = DecodeConfig(method="beam", beam_size=BEAM, max_len=MAX_LEN)
    cascade, random = build_cascade(args, config)
    repeats = args.repeats or (6 if args.quick else 30)
    throughput_repeats = 2 if args.quick else 5
    seed = tf.constant([0, 0], tf.int32)
    pictures = common.pictures(32)
    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pictures]
    result = common.make_result(
        "cascade",
        args,
        {
            "preset": args.preset,
            "random_weights": random,
            "run": None if random else str(args.run),
            "decoder": "beam",
            "beam_size": BEAM,
            "max_len": MAX_LEN,
            "image_size": cascade.image_size,
            "vocab": int(cascade.vocab.shape[0]),
            "latency_repeats": repeats,
            "throughput_repeats": throughput_repeats,
            "xla": False,
        },
    )
    figures, ratios = result["figures"], result["ratios"]
    stages = stage_functions(cascade, seed)
    with tempfile.TemporaryDirectory(prefix="dank-bench-render.") as out_dir:
        for batch in (1, 32):
            time_stages(
                cascade,
                stages,
                pictures[:batch],
                images,
                out_dir,
                seed,
                repeats if batch == 1 else throughput_repeats,
                figures,
            )
    stage_names = [*stages, "render"]
    b1 = {s: figures[f"{s}_b1_latency"]["median"] for s in stage_names}
    result["stage_shares_b1"] = {
        s: round(v / sum(b1.values()), 3) for s, v in b1.items()
    }
    ratios["generate_b32_vs_b1_throughput"] = common.ratio(
        figures["generate_b32_pictures_per_s"]["median"],
        1 / figures["generate_b1_latency"]["median"],
    )
    ratios["end_to_end_b32_vs_b1_throughput"] = common.ratio(
        figures["end_to_end_b32_pictures_per_s"]["median"],
        1 / figures["end_to_end_b1_latency"]["median"],
    )
    one = pictures[:1]
    figures["step_by_step_b1_latency"] = common.latencies(
        lambda: step_by_step(cascade, one, seed), 2 if args.quick else 5
    )
    ratios["compiled_vs_step_by_step_b1"] = common.ratio(
        figures["step_by_step_b1_latency"], figures["generate_b1_latency"]
    )
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
