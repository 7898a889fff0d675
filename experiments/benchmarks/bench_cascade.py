"""The cascade end to end (image bytes -> template -> beam captions) on a trained run.

Reports, in one process:

* ``generate_b1``: latency p50/p95 of the compiled ``Cascade.generate`` for one
  picture, and ``generate_b32``: pictures/s at batch 32;
* the stage breakdown at both batch sizes: ``classify`` (decode, resize,
  ResNet50) and ``caption`` (beam search over the caption model);
* ``step_by_step_b1``: the same work the way a plain Python program does it,
  eagerly: pictures decoded and classified op by op, then the decoder's
  while-loop run eagerly (one Python iteration per token, the model step and
  the beam bookkeeping as eager ops). ``compiled_vs_step_by_step`` is its
  time over the compiled time (issue 10's target: >= 3).

Usage: python experiments/benchmarks/bench_cascade.py [--quick] --run runs/default
"""

import common

common.setup_env()


def step_by_step(cascade, image_bytes, seed):
    """The cascade's work done eagerly, outside any ``tf.function``."""
    import tensorflow as tf

    from dank.cascade.module import decode_and_resize
    from dank.decoding import decode
    from dank.decoding.strings import split_top_bottom

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


def main(argv=None):
    parser = common.make_parser(__doc__, needs_run=True)
    args = parser.parse_args(argv)
    reason = common.missing_run(args.run)
    if reason:
        return common.emit(common.skipped("cascade", args, reason), args)

    import tensorflow as tf

    from dank.cascade.generator import MemeGenerator
    from dank.decoding import DecodeConfig

    config = DecodeConfig(method="beam", beam_size=5, max_len=25)
    cascade = MemeGenerator(args.run, config).cascade
    repeats = 6 if args.quick else 30
    throughput_repeats = 2 if args.quick else 5
    seed = tf.constant([0, 0], tf.int32)
    pictures = common.pictures(32)
    result = common.make_result("cascade", args, {
        "run": str(args.run), "decoder": "beam", "beam_size": config.beam_size,
        "max_len": config.max_len, "image_size": cascade.image_size,
        "latency_repeats": repeats, "throughput_repeats": throughput_repeats,
        "xla": False,
    })
    figures, ratios = result["figures"], result["ratios"]
    for batch in (1, 32):
        images = tf.constant(pictures[:batch])
        found = cascade.classify(images)
        weights = cascade.template_weights(found["probs"])
        stages = {
            "generate": lambda im=images: cascade.generate(im, seed)["tokens"].numpy(),
            "classify": lambda im=images: cascade.classify(im)["probs"].numpy(),
            "caption": lambda w=weights, f=found: cascade.caption(
                w, f["embedding"], f["known"], seed)["tokens"].numpy(),
        }
        for stage, fn in stages.items():
            if batch == 1:
                figures[f"{stage}_b1_latency"] = common.latencies(fn, repeats)
            else:
                seconds = common.measure(fn, throughput_repeats)
                figures[f"{stage}_b{batch}_pictures_per_s"] = common.rates(
                    seconds, batch, "pictures/s")
    ratios["generate_b32_vs_b1_throughput"] = common.ratio(
        figures["generate_b32_pictures_per_s"]["median"],
        1 / figures["generate_b1_latency"]["median"])
    one = pictures[:1]
    figures["step_by_step_b1_latency"] = common.latencies(
        lambda: step_by_step(cascade, one, seed), 2 if args.quick else 5)
    ratios["compiled_vs_step_by_step_b1"] = common.ratio(
        figures["step_by_step_b1_latency"], figures["generate_b1_latency"])
    result["caption_share_b1"] = round(
        figures["caption_b1_latency"]["median"]
        / figures["generate_b1_latency"]["median"], 3)
    return common.emit(result, args)


if __name__ == "__main__":
    raise SystemExit(main())
