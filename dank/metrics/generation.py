"""``generation_metrics``: generate captions for every test template and score them.

What it does, for a run's caption model (no vision model is needed: each
template conditions the caption model directly, by its label)::

    templates of the test split (or of a CSV)  ──► decoder (N captions each,
    the safety filter resampling flagged ones, optional humour rerank)
        ──► BLEU-1..4 against the template's real captions, distinct-1/2,
            novelty against the training captions, template fidelity,
            real-vs-generated accuracy, flagged share, captions/s

See ``dank.metrics.text`` and ``dank.metrics.classifier`` for the metrics'
exact definitions. ``dank evaluate captions`` prints the result; the scripts in
``experiments/generation/`` tabulate it across decoders, filters and rerankers.
"""

import functools
import time

import numpy as np

from dank.core import constants
from dank.core.errors import DankError
from dank.data.ngrams import ContainmentIndex, caption_sequence
from dank.metrics.classifier import BagOfWords
from dank.metrics.humanlike import humanlike_metrics
from dank.metrics.saved import check_writable, decoder_name, save_captions
from dank.metrics.text import corpus_bleu, distinct_n, novelty

BATCH_TEMPLATES = 32  # Templates decoded together (fixes the seeds' layout too).
RERANK_CANDIDATES = 20  # Captions drawn per template before --rerank humor.


def _joined(top, bottom):
    return " ".join(caption_sequence(top, bottom))


@functools.lru_cache(maxsize=2)
def _corpus(data_dir, stamp, split="test"):
    """Training and ``split`` captions of a build, with the indexes built on them.

    Cached per (build, catalogue mtime): a script that scores several decoders
    reads and indexes the 59k starter training captions once.
    """
    from dank.data.pipeline import load_captions

    train = load_captions(data_dir, "train")
    test = load_captions(data_dir, split)
    index = ContainmentIndex(caption_sequence(c["top"], c["bottom"]) for c in train)
    fidelity = BagOfWords(min_count=2, fit_prior=False).fit(
        [_joined(c["top"], c["bottom"]) for c in train], [c["label"] for c in train]
    )
    return train, test, index, fidelity


def _decode_config(decoder, n):
    """The ``DecodeConfig`` for ``decoder`` giving ``n`` captions per template."""
    from dank.decoding.config import (
        DEFAULT_DECODER,
        METHODS,
        PRESETS,
        DecodeConfig,
        config_for,
    )

    if decoder is None:
        base = PRESETS[DEFAULT_DECODER]
    elif isinstance(decoder, DecodeConfig):
        base = decoder
    elif decoder in PRESETS:
        base = PRESETS[decoder]
    elif decoder in METHODS:
        base = config_for(decoder)
    else:
        raise DankError(
            f"unknown decoder {decoder!r}; use one of {', '.join(METHODS)} or a "
            f"preset ({', '.join(PRESETS)})"
        )
    try:
        return base.returning(1 if base.method == "greedy" else n)
    except ValueError as e:
        raise DankError(str(e)) from e


class _Rounds:
    """Decodes a batch of templates once per round seed and remembers the result,
    so the unfiltered and the filtered selection share the same decodes."""

    def __init__(self, decode, state, vocab_tokens, batch_index):
        self.decode, self.state = decode, state
        self.vocab, self.batch_index = vocab_tokens, batch_index
        self.cache = {}

    def __call__(self, round_seed):
        from dank.decoding.strings import split_top_bottom

        seed, round_ = int(round_seed[0]), int(round_seed[1])
        if round_ not in self.cache:
            # Each batch gets its own noise stream: [seed, round + 256 * batch].
            mixed = np.array([seed, round_ + 256 * self.batch_index], np.int32)
            out = self.decode(self.state, mixed)
            top, bottom = split_top_bottom(out.tokens, self.vocab)
            self.cache[round_] = (top.numpy(), bottom.numpy(), out.scores.numpy())
        return self.cache[round_]


def _generate(model, vocab, labels, config, wanted, seed, safety):
    """``(raw, kept, seconds)``: per label, unfiltered and filtered captions."""
    import tensorflow as tf

    from dank.decoding import compiled_decoder
    from dank.safety.resample import collect_captions

    decode = compiled_decoder(model.step, config)
    batches = [
        labels[i : i + BATCH_TEMPLATES] for i in range(0, len(labels), BATCH_TEMPLATES)
    ]

    def state_of(batch):
        condition = model.condition_for_labels(tf.constant(batch, tf.int32))
        return model.initial_state(condition)

    decode(state_of(batches[0]), np.array([seed, 0], np.int32))  # Trace once.
    clean = None if safety is None else (lambda t, b: not safety.is_flagged(t, b))
    raw, kept = [], []
    start = time.perf_counter()
    for b, batch in enumerate(batches):
        rounds = _Rounds(decode, state_of(batch), vocab.tokens, b)
        raw += collect_captions(rounds, wanted, seed, config.method)
        if clean is not None:
            kept += collect_captions(rounds, wanted, seed, config.method, clean)
    seconds = time.perf_counter() - start
    return raw, (kept if clean is not None else raw), seconds


def _references(data_dir, csv, test, catalogue, vocab, split="test"):
    """Real held-out captions by label: the ``split``'s, or the CSV's.

    Raises:
        DankError: no CSV row names a template of the run, or some template of
            the run has no caption in ``split`` (the figures would silently
            leave it out).
    """
    if csv is not None:
        from dank.metrics.captions import captions_from_csv

        real, _ = captions_from_csv(csv, catalogue, vocab)
        if not real:
            raise DankError(f"no row of {csv} names a template of the run")
    else:
        real = test
        if not real:
            raise DankError(f"{data_dir} has no {split} captions; rebuild the data")
    by_label = {}
    for c in real:
        by_label.setdefault(c["label"], []).append(c)
    missing = [t.id for t in catalogue if t.label not in by_label]
    if csv is None and missing:
        raise DankError(
            f"{data_dir} has no {split} captions for {len(missing)} template(s) "
            f"of the run ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}"
            "); rebuild the data so every template has held-out captions, or "
            "score against a --csv"
        )
    return by_label


def _check_args(per_template, rerank, max_templates):
    if per_template < 1:
        raise DankError(f"per_template must be >= 1, got {per_template}")
    if rerank not in (None, "humor"):
        raise DankError(f"unknown rerank {rerank!r}; the choice is: humor")
    if max_templates is not None and max_templates < 1:
        raise DankError(f"max_templates must be >= 1, got {max_templates}")


def generation_metrics(
    run_dir,
    data_dir=None,
    variant="template",
    decoder=None,
    per_template=5,
    seed=0,
    csv=None,
    rerank=None,
    safety_filter=True,
    max_templates=None,
    *,
    novelty_weight=None,
    split="test",
    save_generated=None,
):
    """Generates captions for held-out templates and measures their quality.

    Args:
        run_dir: a run with a trained caption model of ``variant``.
        data_dir: the data build; default: the one the run was trained on.
        variant: which caption model of the run (``template``, ``image``, ...).
        decoder: ``None`` (the default decoder), a method (``greedy``, ``beam``,
            ``diverse``, ``sample``), a ``dank.decoding.PRESETS`` name, or a
            ``DecodeConfig``. Greedy gives one caption per template whatever
            ``per_template`` says.
        per_template: captions per template.
        seed: decoding and sampling seed; the same seed gives the same result.
        csv: score against this caption CSV (``template_id, top, bottom``)
            instead of the test split: its templates are generated for and its
            captions are the references and the real captions.
        rerank: ``None`` or ``"humor"``: draw 20 candidates per template and
            keep the best ``per_template`` by ``dank.models.humor.rerank`` (humour
            minus a copy penalty); needs ``dank train humor``.
        safety_filter: resample captions the safety filter flags (on by
            default, as in ``dank generate``); metrics describe the output.
        max_templates: only the first this many templates (by label).
        novelty_weight: with ``rerank``, the weight of the copy penalty
            (``None``: ``dank.models.humor.rerank.NOVELTY_WEIGHT``; 0 turns the
            guard against copied captions off).
        split: the held-out split whose captions are the references (``test``
            to report, ``val`` to tune on); ignored with ``csv``.
        save_generated: write the scored captions to this JSONL file
            (``dank.metrics.saved``), atomically, once everything is scored.

    Returns:
        A flat JSON-able dict: ``decoder``, ``n_generated``, ``bleu1``..``bleu4``,
        ``distinct1``, ``distinct2``, ``novelty``, ``fidelity_generated``,
        ``fidelity_real``, ``real_vs_generated_accuracy``, ``flagged_share``
        (of the unfiltered output), ``flagged_share_output`` (of what is
        returned: 0 with the filter on), ``perplexity_generated`` (the model's
        per-token perplexity of its own output), ``captions_per_second``, and
        the settings used.

    Raises:
        DankError: a missing run, model, build or CSV, or bad settings.
    """
    from dank.data.pipeline import load_catalogue
    from dank.models.run import Run
    from dank.safety import default_filter

    _check_args(per_template, rerank, max_templates)
    if save_generated is not None:
        check_writable(save_generated)
    run = Run.open(run_dir)
    run_dir = run.path
    data_dir = run.data_build(data_dir, instead="pass data_dir / --data")
    model = run.captioner(variant)
    # Fail before generating, not after.
    scorer = run.humor if rerank else None
    vocab, catalogue = run.vocab, run.catalogue
    if load_catalogue(data_dir) != catalogue:
        raise DankError(f"{run_dir} was not trained on {data_dir}: catalogues differ")
    stamp = (data_dir / constants.CATALOGUE_FILE).stat().st_mtime_ns
    train, test, index, fidelity = _corpus(str(data_dir.resolve()), stamp, split)
    references = _references(data_dir, csv, test, catalogue, vocab, split)
    labels = sorted(references)[:max_templates]

    n = RERANK_CANDIDATES if rerank else per_template
    config = _decode_config(decoder, max(n, per_template))
    wanted = 1 if config.method == "greedy" else n
    safety = default_filter()
    raw, kept, seconds = _generate(
        model, vocab, labels, config, wanted, seed, safety if safety_filter else None
    )
    if rerank:
        from dank.models.humor.rerank import NOVELTY_WEIGHT

        if novelty_weight is None:
            novelty_weight = NOVELTY_WEIGHT
        start = time.perf_counter()
        kept = _rerank(
            scorer, train, kept, labels, per_template, seed, safety, novelty_weight
        )
        seconds += time.perf_counter() - start
    flat_raw = [(t, b) for rows in raw for t, b, _ in rows[:per_template]]
    generated = [
        (label, t, b) for label, rows in zip(labels, kept) for t, b, *_ in rows
    ]
    result = _score(generated, references, index, fidelity, model, vocab, seed)
    result.update(
        flagged_share=_flagged_share(safety, flat_raw),
        flagged_share_output=_flagged_share(safety, [(t, b) for _, t, b in generated]),
        captions_per_second=len(generated) / seconds if seconds > 0 else float("nan"),
        decoder=config.method,
        beam_size=config.beam_size,
        temperature=config.temperature,
        max_len=config.max_len,
        top_k=config.top_k,
        top_p=config.top_p,
        length_penalty=config.length_penalty,
        variant=variant,
        per_template=per_template,
        seed=seed,
        rerank=rerank,
        candidates=RERANK_CANDIDATES if rerank else None,
        novelty_weight=novelty_weight if rerank else None,
        safety_filter=bool(safety_filter),
        max_templates=max_templates,
        n_templates=len(labels),
        references="csv" if csv is not None else split,
        csv=None if csv is None else str(csv),
        run=str(run_dir),
        data=str(data_dir),
    )
    if save_generated is not None:
        save_captions(
            save_generated,
            [(catalogue[label].id, t, b) for label, t, b in generated],
            decoder=decoder_name(decoder, config, rerank),
            seed=seed,
        )
    return result


def _flagged_share(safety, captions):
    if not captions:
        return float("nan")
    return sum(safety.is_flagged(t, b) for t, b in captions) / len(captions)


def _rerank(scorer, train, kept, labels, per_template, seed, safety, weight):
    """The best ``per_template`` of each template's candidates by humour - copying."""
    from dank.models.humor.rerank import NoveltyIndex, rerank

    novelty_index = NoveltyIndex((c["top"], c["bottom"]) for c in train)
    out = []
    for label, rows in zip(labels, kept):
        ranked = rerank(
            [(t, b) for t, b, _ in rows],
            label,
            k=per_template,
            train_texts=novelty_index,
            scorer=scorer,
            seed=seed,
            safety=safety,
            novelty_weight=weight,
        )
        out.append([(r.top, r.bottom, r.score) for r in ranked])
    return out


def _score(generated, references, index, fidelity, model, vocab, seed):
    """The text metrics of ``generated`` ``(label, top, bottom)`` triples."""
    from dank.data.text import caption_tokens
    from dank.models.language.perplexity import evaluate_captions

    if not generated:
        raise DankError(
            "the caption model generated no non-empty caption; it may be "
            "undertrained (check `dank summary`), or try another decoder"
        )
    sequences = [caption_sequence(t, b) for _, t, b in generated]
    ref_sequences = {
        label: [caption_sequence(c["top"], c["bottom"]) for c in rows]
        for label, rows in references.items()
    }
    result = {"n_generated": len(generated)}
    result.update(corpus_bleu(sequences, [ref_sequences[g[0]] for g in generated]))
    result["distinct1"] = distinct_n(sequences, 1)
    result["distinct2"] = distinct_n(sequences, 2)
    result["novelty"] = novelty([(t, b) for _, t, b in generated], index)
    gen_texts = [" ".join(s) for s in sequences]
    result["fidelity_generated"] = fidelity.accuracy(
        gen_texts, [label for label, _, _ in generated]
    )
    used = sorted({label for label, _, _ in generated})
    real = [c for label in used for c in references[label]]
    result["fidelity_real"] = fidelity.accuracy(
        [_joined(c["top"], c["bottom"]) for c in real], [c["label"] for c in real]
    )
    result.update(humanlike_metrics(generated, references, seed))
    scored = [
        {
            "label": label,
            "tokens": vocab.encode(caption_tokens(t, b)),
            "top": t,
            "bottom": b,
        }
        for label, t, b in generated
    ]
    result["perplexity_generated"] = evaluate_captions(model, scored)["perplexity"]
    return result
