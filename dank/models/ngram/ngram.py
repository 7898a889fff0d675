"""Count-based caption models: the baselines the LSTM has to beat.

They score exactly what the caption model scores (``dank.models.language.perplexity``):
every token of ``<s> top <sep> bottom </s>`` after ``<s>``, ``</s>`` included,
with the build's token ids (``<unk>`` is an ordinary token).

* ``UnigramModel``: add-one smoothed token frequencies.
* ``KneserNeyTrigram``: interpolated Kneser-Ney (Chen & Goodman 1998): raw
  counts at the trigram level, continuation counts below, one absolute
  discount per order ``D = n1 / (n1 + 2 n2)``, and the lowest order
  interpolated with a ``base`` distribution (uniform by default)::

      P3(w|u,v) = max(c(uvw) - D3, 0) / c(uv.) + D3 N1+(uv.) / c(uv.) P2(w|v)
      P2(w|v)   = max(N1+(.vw) - D2, 0) / N1+(.v.) + D2 N1+(v.) / N1+(.v.) P1(w)
      P1(w)     = max(N1+(.w) - D1, 0) / N1+(..) + D1 N1+(.) / N1+(..) base(w|u,v)

  A history never seen falls through to the next order.
* ``TemplateKneserNey``: the template-conditioned trigram: the shared KN
  trigram refined by two discounted levels whose contexts add the template,
  so a template's own phrasing wins where it has evidence and the shared model
  fills in the rest.
"""

import math
from collections import Counter

from dank.core.constants import START_ID


def _trigrams(tokens):
    """``(u, v, w)`` for every predicted token; the history is padded with ``<s>``."""
    history = [START_ID, *tokens]
    return [
        (history[i - 2], history[i - 1], history[i]) for i in range(2, len(history))
    ]


def _discount(counts):
    """Chen & Goodman's ``n1 / (n1 + 2 n2)`` from a Counter's count-of-counts."""
    n1 = sum(1 for c in counts.values() if c == 1)
    n2 = sum(1 for c in counts.values() if c == 2)
    if n1 + n2 == 0:
        return 0.5
    return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)


class UnigramModel:
    """Add-one smoothed token frequencies, ignoring the template and history."""

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size
        self.counts = Counter()
        self.total = 0

    def fit(self, captions):
        for caption in captions:
            self.counts.update(caption["tokens"][1:])
        self.total = sum(self.counts.values())
        return self

    def nll(self, caption):
        """Negative log-likelihood (nats) of a caption's predicted tokens."""
        denominator = self.total + self.vocab_size
        return -sum(
            math.log((self.counts[w] + 1) / denominator) for w in caption["tokens"][1:]
        )


class KneserNeyTrigram:
    """Interpolated Kneser-Ney trigram over token ids (see the module docstring).

    Args:
        vocab_size: size of the uniform distribution used when ``base`` is None.
        base: optional ``base(w, u, v) -> probability`` for the lowest order.
    """

    def __init__(self, vocab_size, base=None):
        self.vocab_size = vocab_size
        self.base = base or (lambda w, u, v: 1.0 / vocab_size)

    def fit(self, captions):
        self.c3 = Counter(t for c in captions for t in _trigrams(c["tokens"]))
        self.ctx3, self.n3 = Counter(), Counter()
        self.c2 = Counter()
        for _, v, w in self.c3:
            self.c2[(v, w)] += 1  # Distinct u before (v, w): continuation count.
        for (u, v, _), c in self.c3.items():
            self.ctx3[(u, v)] += c
            self.n3[(u, v)] += 1
        self.ctx2, self.n2 = Counter(), Counter()
        self.c1 = Counter()
        for (v, w), c in self.c2.items():
            self.ctx2[v] += c
            self.n2[v] += 1
            self.c1[w] += 1
        self.total1 = sum(self.c1.values())
        self.d3, self.d2, self.d1 = (
            _discount(self.c3),
            _discount(self.c2),
            _discount(self.c1),
        )
        return self

    def prob(self, w, u, v):
        """P(w | u, v)."""
        p = self.base(w, u, v)
        if self.total1:
            p = (
                max(self.c1[w] - self.d1, 0) + self.d1 * len(self.c1) * p
            ) / self.total1
        total = self.ctx2.get(v)
        if total:
            p = (max(self.c2[(v, w)] - self.d2, 0) + self.d2 * self.n2[v] * p) / total
        total = self.ctx3.get((u, v))
        if total:
            p = (
                max(self.c3[(u, v, w)] - self.d3, 0) + self.d3 * self.n3[(u, v)] * p
            ) / total
        return p

    def nll(self, caption):
        """Negative log-likelihood (nats) of a caption's predicted tokens."""
        trigrams = _trigrams(caption["tokens"])
        return -sum(math.log(self.prob(w, u, v)) for u, v, w in trigrams)


class _DiscountedLevel:
    """One interpolated absolute-discounting level over a lower distribution."""

    def __init__(self, events):
        self.counts = Counter(events)  # ((context, w) -> count)
        self.totals, self.types = Counter(), Counter()
        for (context, _), c in self.counts.items():
            self.totals[context] += c
            self.types[context] += 1
        self.discount = _discount(self.counts)

    def prob(self, context, w, lower):
        total = self.totals.get(context)
        if not total:
            return lower
        seen = max(self.counts[(context, w)] - self.discount, 0)
        return (seen + self.discount * self.types[context] * lower) / total


class TemplateKneserNey:
    """The KN trigram of all captions, refined by template-specific levels.

    The shared KN trigram ``P(w|u,v)`` is the lowest order of two more
    interpolated, discounted levels whose contexts include the template ``t``:
    ``(t, v)`` and then ``(t, u, v)`` (the template acts as the farthest
    context word)::

        P(w|t,u,v) = max(c(t,u,v,w) - D, 0) / c(t,u,v,.)
                     + D N1+(t,u,v,.) / c(t,u,v,.) * P(w|t,v)

    A template never seen in training gets the shared model.
    """

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size
        self.shared = KneserNeyTrigram(vocab_size)

    def fit(self, captions):
        self.shared.fit(captions)
        events = [(c["label"], t) for c in captions for t in _trigrams(c["tokens"])]
        self.bigram = _DiscountedLevel(((t, v), w) for t, (_, v, w) in events)
        self.trigram = _DiscountedLevel(((t, u, v), w) for t, (u, v, w) in events)
        return self

    def prob(self, w, u, v, label):
        """P(w | u, v, template)."""
        p = self.shared.prob(w, u, v)
        p = self.bigram.prob((label, v), w, p)
        return self.trigram.prob((label, u, v), w, p)

    def nll(self, caption):
        """Negative log-likelihood (nats) of a caption's predicted tokens."""
        label = caption["label"]
        return -sum(
            math.log(self.prob(w, u, v, label))
            for u, v, w in _trigrams(caption["tokens"])
        )
