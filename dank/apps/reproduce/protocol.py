"""The paper's own evaluation protocol: 105 (template, caption-opening) pairs.

Peirson & Tolunay had no held-out split: they reported perplexity on 105
(template, caption-opening) pairs such as ("Y U No", "y u no") and ("One Does
Not Simply", "one does not simply") (``../shared/PAPER.md``). Their list is not
available, so this module rebuilds one by a fixed rule from a data build's
*test* split (no training caption is looked at), deterministically:

1. Per template, the top boxes of its test captions, tokenised as the build
   tokenises them (``dank.data.text.tokenize``); empty top boxes are skipped.
2. For n = 2, 3, 4 tokens: the most common n-token opening of those top boxes
   (ties broken alphabetically) and its *support*, the number of captions that
   start with it.
3. The template's opening is the longest of these whose support is at least
   ``MIN_SUPPORT`` captions and at least half the support of its 2-token
   opening: "one does not simply" survives at 4 tokens because nearly every
   such caption starts that way; "when you" stays at 2 tokens because its
   continuations scatter. A template with no 2-token opening of enough support
   gives no pair.
4. Templates are ranked by the support of their opening (most first, then by
   label) and the first ``N_PAIRS`` make the set, one pair per template as in
   the paper's examples. A build with fewer eligible templates gives fewer
   pairs (the starter set has only 100 templates) and the results say how many.

Scoring (``protocol_perplexity``): the caption model is given the template and
``<s>`` and predicts the opening's tokens; ``<sep>`` and ``</s>`` are not
scored, since an opening is not a whole caption. Per token: exp(NLL / opening
tokens); per word: exp(NLL / whitespace words of the opening), with no
end-of-caption term. These openings are the most formulaic text a template
has, so their perplexity is far lower than held-out perplexity and does not
compare with it.
"""

import collections

from dank.core import constants
from dank.core.errors import DankError

N_PAIRS = 105  # The paper's evaluation set size.
OPENING_LENGTHS = (2, 3, 4)  # Candidate opening lengths in tokens.
MIN_SUPPORT = 2  # An opening must start at least this many test captions.
KEEP_SHARE = 0.5  # A longer opening needs this share of the 2-token support.


def _best_opening(tops, n):
    """``(opening, support)``: the most common n-token opening of ``tops``."""
    counts = collections.Counter(tuple(t[:n]) for t in tops if len(t) >= n)
    if not counts:
        return None, 0
    opening, support = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return opening, support


def template_opening(tops):
    """The opening chosen for one template (step 3), or ``(None, 0)``.

    Args:
        tops: token lists of the template's non-empty top boxes.
    """
    base, base_support = _best_opening(tops, OPENING_LENGTHS[0])
    if base_support < MIN_SUPPORT:
        return None, 0
    chosen = (base, base_support)
    for n in OPENING_LENGTHS[1:]:
        opening, support = _best_opening(tops, n)
        if support >= max(MIN_SUPPORT, KEEP_SHARE * base_support):
            chosen = (opening, support)
    return chosen


def opening_pairs(captions, catalogue, n_pairs=N_PAIRS):
    """Rebuilds the paper's evaluation pairs from test-split captions.

    Args:
        captions: dicts with ``label`` and ``top`` (``load_captions(data, "test")``).
        catalogue: the build's ``Catalogue``.
        n_pairs: how many pairs at most.

    Returns:
        A list of ``{"label", "template_id", "template", "opening" (token list),
        "text", "support"}``, best supported first; shorter than ``n_pairs``
        when the build has too few templates with a shared opening.
    """
    from dank.data.text import join_tokens, tokenize

    tops = collections.defaultdict(list)
    for caption in captions:
        tokens = tokenize(caption["top"])
        if tokens:
            tops[int(caption["label"])].append(tokens)
    pairs = []
    for label in sorted(tops):
        opening, support = template_opening(tops[label])
        if opening is not None:
            template = catalogue[label]
            pairs.append(
                {
                    "label": label,
                    "template_id": template.id,
                    "template": template.name,
                    "opening": list(opening),
                    "text": join_tokens(opening),
                    "support": support,
                }
            )
    pairs.sort(key=lambda p: (-p["support"], p["label"]))
    return pairs[:n_pairs]


def build_pairs(data_dir, n_pairs=N_PAIRS):
    """``opening_pairs`` of a data build's test split (``DankError`` if none)."""
    from dank.data.pipeline import load_captions, load_catalogue

    pairs = opening_pairs(
        load_captions(data_dir, "test"), load_catalogue(data_dir), n_pairs
    )
    if not pairs:
        raise DankError(
            f"no template of {data_dir} has a caption opening shared by "
            f"{MIN_SUPPORT}+ test captions; the build is too small for the "
            "paper's protocol"
        )
    return pairs


def protocol_perplexity(model, vocab, pairs, batch_size=256):
    """Perplexity of ``pairs``' openings under a ``CaptionModel`` (see above).

    Returns:
        ``dank.models.language.perplexity.summarize`` of the openings, plus ``n_pairs``
        and ``n_pairs_wanted`` (``N_PAIRS``).
    """
    from dank.data.text import join_tokens
    from dank.models.language.perplexity import caption_nll, summarize

    captions = [
        {"label": p["label"], "tokens": vocab.encode([constants.START, *p["opening"]])}
        for p in pairs
    ]
    nll, lengths = caption_nll(model, captions, batch_size)
    words = sum(len(join_tokens(p["opening"]).split()) for p in pairs)
    result = summarize(nll.sum(), lengths.sum(), words, len(pairs))
    result.update(n_pairs=len(pairs), n_pairs_wanted=N_PAIRS)
    return result
