"""The perplexity summary that every caption scorer reports through.

The caption model (``dank.models.language.perplexity``) and the n-gram baselines
(``dank.models.ngram``) both score captions with these two functions, so their
numbers compare; it sits below both so neither imports the other.
"""

import math


def caption_words(top, bottom):
    """Whitespace-separated words of a normalised caption, plus one for its end."""
    from dank.data.text import normalize

    return len(normalize(top).split()) + len(normalize(bottom).split()) + 1


def summarize(nll, tokens, words, n):
    """The JSON-able perplexity summary of ``n`` captions."""
    return {
        "n": int(n),
        "tokens": int(tokens),
        "words": int(words),
        "nll": float(nll),
        "perplexity": math.exp(nll / tokens) if tokens else float("nan"),
        "perplexity_per_word": math.exp(nll / words) if words else float("nan"),
    }
