"""Where the memes of a batch of pictures are written: one stem per input."""

import hashlib
import os
import re
from pathlib import Path


def output_stems(names, hashed=True):
    """File-name stems for the memes of each input: unique, stable and short.

    The input's stem (cut to 60 characters, so ``-k.png`` and a temporary's
    affixes still fit NAME_MAX) keeps a meme recognisable; 8 hex digits of a
    hash of its absolute path (unless ``hashed`` is false, for template ids)
    tell ``a/cat.jpg`` from ``b/cat.png``. The same input named twice gets
    ``-2``, ``-3``... in the order given.
    """
    stems, seen = [], {}
    for name in names:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-")[:60]
        stem = slug or "meme"
        if hashed:
            where = "<stdin>" if name == "-" else os.path.abspath(name)
            stem += "-" + hashlib.sha1(os.fsencode(where)).hexdigest()[:8]
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems
