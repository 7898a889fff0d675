"""The bag-of-words classifier and the real-vs-generated protocol."""

import math

import numpy as np
import pytest

from dank.core.errors import DankError
from dank.metrics.classifier import BagOfWords, features, real_vs_generated_accuracy

ANIMALS = {
    "cat": ["the cat says meow", "a cat purrs", "meow meow cat", "my cat sleeps"],
    "dog": ["the dog says woof", "a dog barks", "woof woof dog", "my dog runs"],
    "cow": ["the cow says moo", "a cow grazes", "moo moo cow", "my cow eats"],
}


def _toy():
    texts = [t for texts in ANIMALS.values() for t in texts]
    labels = [label for label, texts in ANIMALS.items() for _ in texts]
    return texts, labels


def test_features_are_unigrams_and_bigrams():
    assert features("a b c") == ["a", "b", "c", "a b", "b c"]
    assert features(["x"]) == ["x"]


def test_learns_a_separable_problem():
    texts, labels = _toy()
    model = BagOfWords().fit(texts, labels)
    assert model.classes_ == sorted(ANIMALS)
    assert model.predict(texts) == labels
    assert model.accuracy(texts, labels) == 1.0
    unseen = ["meow", "the dog woof", "moo said the cow", ["purrs"]]
    assert model.predict(unseen) == ["cat", "dog", "cow", "cat"]
    probs = model.predict_proba(unseen)
    assert probs.shape == (4, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0, model.classes_.index("cat")] > 0.5


def test_prior_decides_texts_without_known_words():
    texts = ["a", "a", "a", "b"]
    fitted = BagOfWords().fit(texts, ["x", "x", "x", "y"])
    assert fitted.predict(["zzz"]) == ["x"]  # The frequent class.
    flat = BagOfWords(fit_prior=False).fit(texts, ["x", "x", "x", "y"])
    np.testing.assert_allclose(flat.predict_proba(["zzz"]), [[0.5, 0.5]])


def test_min_count_and_max_features_bound_the_vocabulary():
    texts, labels = _toy()
    assert "purrs" not in BagOfWords(min_count=2).fit(texts, labels).vocabulary_
    assert len(BagOfWords(max_features=5).fit(texts, labels).vocabulary_) == 5


def test_bad_use_raises_clear_errors():
    with pytest.raises(DankError, match="two classes"):
        BagOfWords().fit(["a", "b"], ["x", "x"])
    with pytest.raises(DankError, match="labels"):
        BagOfWords().fit(["a", "b"], ["x"])
    with pytest.raises(DankError, match="not fitted"):
        BagOfWords().predict(["a"])


def test_real_vs_generated_separates_and_detects_identity():
    real = [f"real caption number {i} with words" for i in range(20)]
    fake = [f"robot output {i} beep boop" for i in range(30)]
    assert real_vs_generated_accuracy(real, fake, seed=0) == 1.0
    # Indistinguishable: both sides drawn from one word distribution.
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    same = [" ".join(rng.choice(words, 6)) for _ in range(400)]
    chance = real_vs_generated_accuracy(same[:200], same[200:], seed=0)
    assert 0.4 < chance < 0.6
    # Deterministic under the seed.
    mixed = real[:10] + fake[:10]
    a = real_vs_generated_accuracy(mixed, fake[5:25], seed=3)
    assert a == real_vs_generated_accuracy(mixed, fake[5:25], seed=3)
    assert math.isnan(real_vs_generated_accuracy(real[:1], fake, seed=0))
