"""Rendered memes on disk, reachable only through random tokens.

A request never names a file: ``put`` writes a PNG under a private temp dir
with a fresh ``secrets`` token as its name and remembers token -> path in
memory; ``get`` answers only tokens it handed out. Files expire after a TTL and
the least recently used go once the store is full, so the disk stays bounded.
"""

import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

from dank.render.meme import save_png

TOKEN_BYTES = 16  # 128 random bits: unguessable, 22 URL-safe characters.


class RenderStore:
    """Rendered PNGs keyed by random tokens, with TTL and LRU eviction.

    Args:
        ttl_s: seconds a render stays available after it was last read.
        max_items: most renders kept at once.
        clock: a ``time.monotonic``-like function (tests pass a fake one).
    """

    def __init__(self, ttl_s, max_items, clock=time.monotonic):
        self.root = Path(tempfile.mkdtemp(prefix="dank-serve-"))
        self.ttl_s = float(ttl_s)
        self.max_items = int(max_items)
        self._clock = clock
        self._items = OrderedDict()  # token -> (path, last used), LRU first.
        self._lock = threading.Lock()

    def put(self, image):
        """Saves a PIL image as PNG; returns its token."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        path = save_png(image, self.root / f"{token}.png")
        with self._lock:
            self._items[token] = (path, self._clock())
            self._evict_locked()
        return token

    def get(self, token):
        """The PNG bytes of ``token``, or None when unknown or expired."""
        with self._lock:
            self._evict_locked()
            entry = self._items.get(token)
            if entry is None:
                return None
            self._items[token] = (entry[0], self._clock())
            self._items.move_to_end(token)
            path = entry[0]
        try:
            return path.read_bytes()
        except FileNotFoundError:  # Evicted by another thread just now.
            return None

    def __len__(self):
        with self._lock:
            self._evict_locked()
            return len(self._items)

    def _evict_locked(self):
        now = self._clock()
        while self._items:
            token, (path, used) = next(iter(self._items.items()))
            if len(self._items) <= self.max_items and now - used < self.ttl_s:
                break
            del self._items[token]
            path.unlink(missing_ok=True)

    def close(self):
        """Deletes every render and the temp dir."""
        with self._lock:
            self._items.clear()
            shutil.rmtree(self.root, ignore_errors=True)
