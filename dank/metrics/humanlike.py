"""Does generated text pass as people's? The figures of issue 22's targets.

* **detector accuracy** (``dank.metrics.detector``): a cross-validated word +
  char n-gram logistic regression telling generated from real captions of the
  same templates, with a 95% interval; 0.5 = indistinguishable. The old naive
  Bayes figure sits beside it as ``real_vs_generated_weak``.
* **words per caption**, generated and real (the same templates and counts),
  and their ratio.
* **distinct per template**: unique captions / captions, averaged over
  templates (1.0: no template got the same caption twice).
* **degenerate share** (``is_degenerate``), generated and real.
"""

import re

import numpy as np

from dank.data.ngrams import ngrams
from dank.data.text import tokenize
from dank.metrics.classifier import real_vs_generated_accuracy
from dank.metrics.detector import balanced_pairs, caption_text, detector_accuracy

REPEAT_N = 4  # A word n-gram seen twice in one caption is a loop (real: ~1.9%).
_WORD = re.compile(r"\w")


def _words(text):
    return [t for t in tokenize(text) if _WORD.search(t)]


def is_degenerate(top, bottom):
    """A caption no person would write: a broken box, almost no text, or a loop.

    True when a box holds only punctuation, both boxes are empty, the words
    have at most 1 character together, a word comes three times in a row, or
    a word 4-gram occurs twice. An empty box alone is *not* degenerate: 40%
    of real captions have one.
    """
    boxes = [(tokenize(box), _words(box)) for box in (top, bottom)]
    if any(tokens and not words for tokens, words in boxes):
        return True
    words = boxes[0][1] + boxes[1][1]
    if len("".join(words)) <= 1:
        return True
    if any(a == b == c for a, b, c in zip(words, words[1:], words[2:])):
        return True
    grams = ngrams(words, REPEAT_N)
    return len(grams) != len(set(grams))


def _share(flags):
    flags = list(flags)
    return sum(flags) / len(flags) if flags else float("nan")


def _mean_words(texts):
    """Mean word tokens per caption (``<sep>`` not counted)."""
    if not texts:
        return float("nan")
    return float(np.mean([len(t.split()) - 1 for t in texts]))


def humanlike_metrics(generated, references, seed=0):
    """The "passes as real" figures of ``generated`` against ``references``.

    Args:
        generated: ``(label, top, bottom)`` triples.
        references: ``{label: [{"top", "bottom", ...}, ...]}`` real captions.
        seed: the balancing draw and the detector's folds.

    Returns:
        A flat dict: ``real_vs_generated_accuracy`` with ``_ci_low``,
        ``_ci_high``, ``_n``; ``real_vs_generated_weak``; ``words_generated``,
        ``words_real``, ``words_ratio``; ``distinct_per_template``;
        ``degenerate_share``, ``degenerate_share_real``.
    """
    gen_by_label, real_by_label, distinct = {}, {}, []
    for label, top, bottom in generated:
        gen_by_label.setdefault(label, []).append(caption_text(top, bottom))
    for label, texts in gen_by_label.items():
        real_by_label[label] = [
            caption_text(c["top"], c["bottom"]) for c in references.get(label, ())
        ]
        distinct.append(len(set(texts)) / len(texts))
    real, fake = balanced_pairs(real_by_label, gen_by_label, seed)
    if len(real) >= 2:
        strong = detector_accuracy(real_by_label, gen_by_label, seed)
    else:  # Too few to cross-validate (a tiny smoke run): no figure, no crash.
        strong = dict.fromkeys(("accuracy", "ci_low", "ci_high"), float("nan"))
        strong["n"] = 2 * len(real)
    words_real, words_gen = _mean_words(real), _mean_words(fake)
    used = [c for label in gen_by_label for c in references.get(label, ())]
    return {
        "real_vs_generated_accuracy": strong["accuracy"],
        "real_vs_generated_ci_low": strong["ci_low"],
        "real_vs_generated_ci_high": strong["ci_high"],
        "real_vs_generated_n": strong["n"],
        "real_vs_generated_weak": real_vs_generated_accuracy(real, fake, seed),
        "words_generated": words_gen,
        "words_real": words_real,
        "words_ratio": words_gen / words_real if words_real else float("nan"),
        "distinct_per_template": float(np.mean(distinct)),
        "degenerate_share": _share(is_degenerate(t, b) for _, t, b in generated),
        "degenerate_share_real": _share(
            is_degenerate(c["top"], c["bottom"]) for c in used
        ),
    }
