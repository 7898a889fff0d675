"""Generated captions saved as JSON lines, so anyone can inspect or re-score them.

One line per caption, in generation order (templates by label)::

    {"template": "imgflip-Success-Kid", "top": "...", "bottom": "...",
     "decoder": "human", "seed": 0}

``dank evaluate captions --save-generated FILE`` writes it; the file appears
whole or not at all (``dank.core.io.atomic_path``).
"""

import json
import os
from pathlib import Path

from dank.core.errors import DankError


def check_writable(path):
    """Fails early, before any generating, when ``path`` cannot be written.

    Raises:
        DankError: ``path`` is a directory, or its nearest existing parent is
            not a writable directory.
    """
    path = Path(path)
    if path.is_dir():
        raise DankError(f"--save-generated {path} is a directory; name a file")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise DankError(
            f"cannot write --save-generated {path}: {parent} is not a writable "
            "directory; choose another path"
        )


def decoder_name(decoder, config, rerank=None):
    """The decoder as the saved file names it: a preset or method name (+rerank)."""
    name = decoder if isinstance(decoder, str) else config.method
    return f"{name}+rerank-{rerank}" if rerank else name


def save_captions(path, captions, decoder, seed):
    """Writes ``(template_id, top, bottom)`` triples as JSON lines, atomically.

    Raises:
        DankError: the file cannot be written (the message names it).
    """
    from dank.core.io import write_text

    lines = [
        json.dumps(
            {
                "template": t,
                "top": top,
                "bottom": bottom,
                "decoder": decoder,
                "seed": seed,
            },
            ensure_ascii=False,
        )
        for t, top, bottom in captions
    ]
    try:
        write_text(path, "".join(line + "\n" for line in lines))
    except OSError as e:
        raise DankError(f"cannot write --save-generated {path}: {e.strerror}") from e


def load_captions(path):
    """The saved captions of ``path`` as dicts (for re-scoring).

    Raises:
        DankError: the file is missing or a line is not a saved caption.
    """
    path = Path(path)
    if not path.is_file():
        raise DankError(f"saved captions {path} not found")
    out = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                out.append({k: row[k] for k in ("template", "top", "bottom")} | row)
            except (ValueError, KeyError, TypeError) as e:
                raise DankError(
                    f"{path} line {number} is not a saved caption ({e}); "
                    "write it with `dank evaluate captions --save-generated`"
                ) from e
    return out
