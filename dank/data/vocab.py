"""The word vocabulary: token strings <-> integer ids.

Ids 0..5 are always ``constants.SPECIAL_TOKENS`` in order (PAD=0, UNK=1, ...),
then words by falling frequency (ties alphabetical), so a build is reproducible.
"""

import collections

from dank.core import constants
from dank.core.errors import DankError
from dank.core.io import read_build_json, write_json

VOCAB_FORMAT = 1  # Bump when the JSON layout changes.


class Vocabulary:
    """Maps tokens to ids and back.

    Args:
        tokens: every token in id order; must start with ``SPECIAL_TOKENS``.
        counts: optional training counts per token (kept for the data card).
    """

    def __init__(self, tokens, counts=None):
        tokens = list(tokens)
        if tuple(tokens[: len(constants.SPECIAL_TOKENS)]) != constants.SPECIAL_TOKENS:
            raise ValueError(
                f"a vocabulary must start with {constants.SPECIAL_TOKENS}, "
                f"got {tokens[: len(constants.SPECIAL_TOKENS)]}"
            )
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not repeat a token")
        self.tokens = tokens
        self.counts = dict(counts or {})
        self._ids = {token: i for i, token in enumerate(tokens)}

    def __len__(self):
        return len(self.tokens)

    def __contains__(self, token):
        return token in self._ids

    def id_of(self, token):
        """Returns the id of ``token``, or ``UNK_ID`` when it is not known."""
        return self._ids.get(token, constants.UNK_ID)

    def encode(self, tokens):
        """Token strings -> ids; unknown tokens become ``UNK_ID``."""
        return [self._ids.get(token, constants.UNK_ID) for token in tokens]

    def decode(self, ids):
        """Ids -> token strings. Raises ``ValueError`` for an id out of range."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.tokens):
                raise ValueError(
                    f"token id {i} is outside the vocabulary (0..{len(self) - 1})"
                )
            out.append(self.tokens[i])
        return out

    def save(self, path):
        """Writes the vocabulary as JSON (atomically) to ``path`` (``vocab.json``)."""
        write_json(
            path, {"format": VOCAB_FORMAT, "tokens": self.tokens, "counts": self.counts}
        )

    @classmethod
    def load(cls, path):
        """Reads a vocabulary written by ``save`` (a directory: its vocab.json)."""
        path, data = read_build_json(
            path, constants.VOCAB_FILE, "vocabulary", VOCAB_FORMAT
        )
        try:
            return cls(data["tokens"], data.get("counts"))
        except (KeyError, ValueError) as e:
            raise DankError(
                f"{path} is a broken vocabulary ({e}); rebuild the data"
            ) from e

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def __repr__(self):
        return f"Vocabulary({len(self)} tokens)"


def build_vocabulary(token_lists, min_count=3, max_size=None, always=()):
    """Counts tokens and keeps the frequent ones, as the paper did.

    Args:
        token_lists: iterables of token strings (special tokens are ignored).
        min_count: words seen fewer times are dropped (paper: 3).
        max_size: cap on the total size, special tokens included; ``None`` = no cap.
        always: tokens kept whatever their count (e.g. template-name words), after
            the counted words and before ``max_size`` trims the rarest counted ones.

    Returns:
        A ``Vocabulary``.
    """
    specials = set(constants.SPECIAL_TOKENS)
    counts = collections.Counter()
    for tokens in token_lists:
        counts.update(t for t in tokens if t not in specials)
    words = sorted(
        (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
    )
    forced = sorted(set(always) - set(words) - specials)
    if max_size is not None:
        room = max(0, max_size - len(constants.SPECIAL_TOKENS) - len(forced))
        words = words[:room]
    tokens = [*constants.SPECIAL_TOKENS, *words, *forced]
    return Vocabulary(tokens, {t: counts[t] for t in tokens if t in counts})
