"""Optional GloVe initialisation of the word embeddings from a local text file.

The file is the standard GloVe text format (``word v1 v2 ... vD`` per line). It
is never downloaded: pass ``--embeddings PATH``.
"""

from pathlib import Path

import numpy as np

from dank.core.errors import DankError


def load_glove(path, vocab, dim):
    """Reads vectors for ``vocab``'s tokens from ``path``.

    Returns:
        (vectors float32 [V, dim], found bool [V]); rows not found are zero.

    Raises:
        DankError: the file is missing, a vector is not ``dim`` numbers, or
            no word of ``vocab`` has one.
    """
    path = Path(path)
    if not path.is_file():
        raise DankError(f"embeddings file {path} not found; pass a local GloVe .txt")
    vectors = np.zeros((len(vocab), dim), dtype="float32")
    found = np.zeros(len(vocab), dtype=bool)
    with path.open(encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, 1):
            word, _, rest = line.rstrip("\n").partition(" ")
            if word not in vocab:
                continue
            values = rest.split()
            if len(values) != dim:
                raise DankError(
                    f"{path} line {line_no}: {len(values)} values, but the model's "
                    f"embedding_dim is {dim}; use {dim}-d vectors"
                )
            i = vocab.id_of(word)
            try:
                vectors[i] = np.asarray(values, dtype="float32")
            except ValueError as e:
                raise DankError(
                    f"{path} line {line_no}: not numbers ({e}); a GloVe text file "
                    "has `word v1 v2 ... vD` per line"
                ) from e
            found[i] = True
    if not found.any():
        raise DankError(
            f"{path} has a vector for none of the vocabulary's {len(vocab)} words; "
            "pass a GloVe text file (`word v1 v2 ... vD` per line)"
        )
    return vectors, found


def apply_glove(model, path, vocab):
    """Overwrites the model's embedding rows found in GloVe; returns the count."""
    table = model.word_embedding.embeddings
    vectors, found = load_glove(path, vocab, table.shape[-1])
    current = np.asarray(table)
    current[found] = vectors[found]
    table.assign(current)
    return int(found.sum())
