"""A small bag-of-words text classifier in numpy, and the real-vs-generated test.

``BagOfWords`` is multinomial naive Bayes over unigram and bigram counts with
add-``alpha`` (Laplace) smoothing: deterministic (no random initialisation, no
iteration order), trained in one pass, and strong enough on short texts to be
a fair judge. Two metrics use it:

* **template fidelity** (``dank.metrics.generation``): trained on the training
  captions to name a caption's template; its accuracy on generated captions,
  next to its accuracy on real held-out captions of the same templates, says
  how recognisably a generated caption belongs to its template.
* **real-vs-generated accuracy** (``real_vs_generated_accuracy``): the
  automated stand-in for the paper's human study (raters told real from
  generated memes about 70% of the time; 50% means indistinguishable).
"""

import collections

import numpy as np

from dank.core.errors import DankError


def _words(text):
    return text.split() if isinstance(text, str) else list(text)


def features(text):
    """Unigrams and bigrams of a text (a string, split on whitespace, or words)."""
    words = _words(text)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


class BagOfWords:
    """Multinomial naive Bayes over unigram + bigram counts.

    Args:
        alpha: additive smoothing of the per-class feature counts.
        min_count: features seen fewer times in training are ignored.
        max_features: keep at most this many features, the most frequent
            (ties broken by the feature's text); bounds memory at
            classes x features floats.
        fit_prior: use the training class frequencies as the prior; False
            gives every class the same prior (for balanced test sets).
    """

    def __init__(self, alpha=1.0, min_count=1, max_features=50_000, fit_prior=True):
        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)
        self.min_count = int(min_count)
        self.max_features = max_features
        self.fit_prior = bool(fit_prior)
        self.classes_ = None

    def fit(self, texts, labels):
        """Learns from ``texts`` (strings or word lists) and their ``labels``.

        Returns:
            ``self``.

        Raises:
            DankError: no texts, mismatched lengths, or a single class.
        """
        texts, labels = list(texts), list(labels)
        if len(texts) != len(labels):
            raise DankError(f"{len(texts)} texts but {len(labels)} labels")
        self.classes_ = sorted(set(labels))
        if len(self.classes_) < 2:
            raise DankError(
                f"a classifier needs at least two classes, got {self.classes_}"
            )
        grams = [features(t) for t in texts]
        totals = collections.Counter(g for gs in grams for g in gs)
        kept = sorted(
            (g for g, c in totals.items() if c >= self.min_count),
            key=lambda g: (-totals[g], g),
        )
        if self.max_features:
            kept = kept[: self.max_features]
        self.vocabulary_ = {g: i for i, g in enumerate(kept)}
        n_classes, n_features = len(self.classes_), len(kept)
        class_index = {c: i for i, c in enumerate(self.classes_)}
        y = np.array([class_index[label] for label in labels])
        rows, cols = self._sparse(grams)
        counts = np.bincount(
            y[rows] * n_features + cols, minlength=n_classes * n_features
        ).reshape(n_classes, n_features)
        smoothed = counts + self.alpha
        log_theta = np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))
        self._log_theta_t = np.ascontiguousarray(log_theta.T)  # [F, C]
        if self.fit_prior:
            self._log_prior = np.log(np.bincount(y, minlength=n_classes) / len(y))
        else:
            self._log_prior = np.full(n_classes, -np.log(n_classes))
        return self

    def _sparse(self, grams):
        """(row, feature) index pairs of every known feature occurrence."""
        rows, cols = [], []
        for i, gs in enumerate(grams):
            ids = [self.vocabulary_[g] for g in gs if g in self.vocabulary_]
            rows.extend([i] * len(ids))
            cols.extend(ids)
        return np.asarray(rows, np.int64), np.asarray(cols, np.int64)

    def _log_joint(self, texts, chunk=4096):
        if self.classes_ is None:
            raise DankError("the classifier is not fitted; call fit() first")
        texts = list(texts)
        out = np.tile(self._log_prior, (len(texts), 1))
        for start in range(0, len(texts), chunk):
            part = [features(t) for t in texts[start : start + chunk]]
            rows, cols = self._sparse(part)
            if not len(rows):
                continue
            # Rows are sorted, so each text's features are one contiguous segment.
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            sums = np.add.reduceat(self._log_theta_t[cols], starts, axis=0)
            out[start + rows[starts]] += sums
        return out

    def predict_proba(self, texts):
        """Class probabilities ``[n, n_classes]``, columns in ``classes_`` order."""
        joint = self._log_joint(texts)
        joint -= joint.max(axis=1, keepdims=True)
        probs = np.exp(joint)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, texts):
        """The most likely class of each text (ties: the first in ``classes_``)."""
        best = self._log_joint(texts).argmax(axis=1)
        return [self.classes_[i] for i in best]

    def accuracy(self, texts, labels):
        """Share of ``texts`` whose predicted class is their label (NaN if none)."""
        labels = list(labels)
        if not labels:
            return float("nan")
        hits = sum(p == y for p, y in zip(self.predict(texts), labels))
        return hits / len(labels)


def real_vs_generated_accuracy(real, generated, seed=0):
    """How well a bag-of-words classifier tells real captions from generated ones.

    Protocol: ``k = min(len(real), len(generated))`` texts of each kind are drawn
    (seeded shuffle), so the classes are balanced and chance is 50%. Each kind
    is split into halves A and B. A classifier (``BagOfWords``, uniform prior)
    trained on the A halves is scored on the B halves, and one trained on B on
    A (two-fold, so every drawn text is tested once); the result is the share
    of all tested texts classified correctly. Near 0.5: indistinguishable; the
    paper's human raters reached about 0.7 on real vs generated memes.

    Args:
        real: real held-out captions (strings or word lists), ideally drawn
            from the same templates in the same proportions as ``generated``.
        generated: generated captions.
        seed: the shuffle's seed.

    Returns:
        Accuracy in [0, 1]; NaN when either side has fewer than 2 texts.
    """
    k = min(len(real), len(generated))
    if k < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    real = [real[i] for i in rng.permutation(len(real))[:k]]
    generated = [generated[i] for i in rng.permutation(len(generated))[:k]]
    half = k // 2
    folds = [
        (real[:half], generated[:half], real[half:], generated[half:]),
        (real[half:], generated[half:], real[:half], generated[:half]),
    ]
    correct = tested = 0
    for train_real, train_gen, test_real, test_gen in folds:
        model = BagOfWords(fit_prior=False).fit(
            train_real + train_gen, [1] * len(train_real) + [0] * len(train_gen)
        )
        labels = [1] * len(test_real) + [0] * len(test_gen)
        predicted = model.predict(test_real + test_gen)
        correct += sum(p == y for p, y in zip(predicted, labels))
        tested += len(labels)
    return correct / tested
