"""Text metrics of generated captions: corpus BLEU, distinct-n and novelty.

Captions are compared as word sequences (``dank.data.ngrams.caption_sequence``:
the build's own tokens, ``<sep>`` between the boxes)::

    top "One does not simply", bottom "walk into Mordor"  ->
    one does not simply <sep> walk into mordor

* **BLEU-n** (``corpus_bleu``): Papineni et al.'s corpus BLEU with uniform
  weights over 1..n-grams, computed by ``sacrebleu`` on our tokens
  (``tokenize="none"``, no lowercasing). Each generated caption is scored
  against *all* the reference captions of its template: an n-gram's count is
  clipped to its largest count in any one reference; clipped matches and
  candidate n-grams are summed over the corpus before the precisions are taken.
  The brevity penalty uses, per caption, the reference length closest to the
  caption's (ties: the shorter), summed over the corpus. No smoothing
  (``smooth_method="none"``): a corpus with no matching n-gram of some order
  scores 0 for that BLEU-n and above, as in the original metric and ``nltk``'s
  ``corpus_bleu`` without a smoothing function (at corpus level a zero count
  means there really is no overlap). ``<sep>`` counts as a word, so n-grams do
  not run across the two boxes unnoticed. This is sacrebleu's standard
  definition, and the same numbers as the hand-written version it replaced.
* **distinct-n** (``distinct_n``): unique n-grams / all n-grams over every
  generated caption together (Li et al., 2016).
* **novelty** (``novelty``, on a ``dank.data.ngrams.ContainmentIndex``): the
  share of generated captions whose word sequence does not occur, as whole
  consecutive words, inside any training caption: the paper's "percent in
  data", inverted. A caption with one empty box is looked up by its visible
  words alone, so "one does not simply" (no bottom) is inside the training
  caption above.
"""

from sacrebleu.metrics import BLEU

from dank.data.ngrams import ngrams, visible_words


def corpus_bleu(hypotheses, references, max_n=4):
    """Corpus BLEU-1..``max_n`` (see the module docstring).

    Args:
        hypotheses: word sequences of the generated captions.
        references: one reference set per hypothesis: a list of word
            sequences (sets may differ in size).
        max_n: the highest n-gram order.

    Returns:
        ``{"bleu1": ..., "bleu<max_n>": ...}``, floats in [0, 1].

    Raises:
        ValueError: the lists differ in length or a reference set is empty.
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} reference sets"
        )
    if not all(references):
        raise ValueError("every hypothesis needs at least one reference")
    if not hypotheses:
        return {f"bleu{n}": 0.0 for n in range(1, max_n + 1)}
    # sacrebleu takes reference *streams* (the i-th reference of every
    # hypothesis); a None pads the sets with fewer references.
    streams = [
        [" ".join(refs[i]) if i < len(refs) else None for refs in references]
        for i in range(max(map(len, references)))
    ]
    bleu = BLEU(
        tokenize="none",
        smooth_method="none",
        max_ngram_order=max_n,
        force=True,  # Our captions are tokenised on purpose: no warning about it.
    )
    stats = bleu.corpus_score([" ".join(h) for h in hypotheses], streams)
    # BLEU-n for n < max_n from the same sufficient statistics.
    return {
        f"bleu{n}": BLEU.compute_bleu(
            stats.counts[:n],
            stats.totals[:n],
            stats.sys_len,
            stats.ref_len,
            smooth_method="none",
            max_ngram_order=n,
        ).score
        / 100
        for n in range(1, max_n + 1)
    }


def distinct_n(sequences, n):
    """Unique n-grams / all n-grams over ``sequences`` (0.0 when there are none)."""
    grams = [g for seq in sequences for g in ngrams(seq, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def novelty(captions, index):
    """Share of ``(top, bottom)`` captions not found inside a training caption.

    Args:
        captions: generated ``(top, bottom)`` pairs.
        index: a ``dank.data.ngrams.ContainmentIndex`` of the training captions.

    Returns:
        A float in [0, 1]; NaN for no captions.
    """
    if not captions:
        return float("nan")
    copied = sum(index.contains(visible_words(t, b)) for t, b in captions)
    return 1.0 - copied / len(captions)
