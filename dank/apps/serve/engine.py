"""The model side of the server: a run loaded once, one worker thread for it.

TensorFlow runs only on the worker thread. Request threads check and decode
their pictures, queue a job and wait. With ``max_batch`` > 1 the worker gathers
queued jobs (waiting up to ``batch_window_ms``) that share a decoder, template
and seed and captions them in one ``MemeGenerator.for_images`` call (one
classifier batch and one decoder batch); the N memes of one request are always
one batched decode. Drawing and saving the PNGs happens back on the request
threads, in parallel with the model.
"""

import concurrent.futures
import contextlib
import ctypes
import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path

from dank.apps.serve.checks import ApiError, check_image
from dank.apps.serve.config import ServeConfig
from dank.apps.serve.store import RenderStore
from dank.core.errors import DankError
from dank.decoding.config import DECODERS, DecodeConfig

log = logging.getLogger(__name__)

MAX_SEED = 2**31 - 1
THUMB_SIDE = 512  # Longer side of the template pictures the page shows.
# Template pictures (about 3 MB each, decoded) and thumbnails (about 40 kB)
# kept, the least recently used dropped first: unbounded, they grew by a
# picture per new template asked for, up to gigabytes on the full catalogue.
MAX_PICTURES = 32
MAX_THUMBS = 512
# Model calls between two ``malloc_trim``s: glibc keeps the heap that freed
# picture and PNG buffers leave behind (30-40 MiB on the tiny run), so
# resident memory wanders up and down by that much without it.
TRIM_EVERY = 100


@dataclass
class _Job:
    key: tuple  # (decoder, template id or None, seed): what may share a batch.
    name: str
    encoded: bytes
    n: int
    future: concurrent.futures.Future


def decode_config_for(decoder, max_n):
    """The ``DecodeConfig`` ``dank generate --decoder decoder -n max_n`` uses."""
    return DecodeConfig.from_options(decoder, 1 if decoder == "greedy" else max_n)


class Engine:
    """Loads ``run_dir`` once and turns pictures or templates into drawn memes.

    Args:
        run_dir: a finished run.
        config: a ``ServeConfig`` (None: the defaults).
        warmup: caption one picture at start, so the first request is not slow
            and a broken run fails here rather than on a user's request.
    """

    def __init__(self, run_dir, config=None, warmup=True):
        from dank.cascade.generator import MemeGenerator

        config = config or ServeConfig()
        self.run_dir = Path(run_dir)
        self.config = config
        if config.decoder not in DECODERS:
            raise DankError(
                f"decoder must be one of {', '.join(DECODERS)}, got {config.decoder!r}"
            )
        # One generator (one copy of the models); each decoder gets its own
        # compiled cascade inside it (``MemeGenerator.cascade_for``).
        self.generator = MemeGenerator(
            run_dir, decode_config_for(config.decoder, config.max_n), safety=True
        )
        self.catalogue = self.generator.catalogue
        self.image_size = self.generator.image_size
        self.by_id = {t.id: t for t in self.catalogue}
        self._pictures = OrderedDict()  # template id -> Picture, LRU first.
        self._thumbs = OrderedDict()  # template id -> JPEG bytes, LRU first.
        self._cache_lock = threading.Lock()
        self.store = RenderStore(config.render_ttl_s, config.max_renders)
        self._queue = queue.Queue()
        self.batches = []  # Sizes of the batches run (the load test reads it).
        self.calls = 0  # Model calls made.
        self._worker = threading.Thread(
            target=self._work, name="dank-model", daemon=True
        )
        self._worker.start()
        if warmup:
            first = self.template_picture(self.catalogue[0])
            self.caption(first, 1, config.decoder, None, 0, timeout=600)

    # Pictures -----------------------------------------------------------------

    def upload_picture(self, data, filename, content_type):
        """Checks and prepares an uploaded picture (raises ``ApiError``)."""
        from dank.core.images import prepare

        check_image(data, content_type, self.config.max_pixels)
        name = Path(filename or "upload").name[:100] or "upload"
        try:
            return prepare(
                data,
                name=name,
                max_side=self.config.meme_side,
                model_side=self.image_size,
                max_pixels=self.config.max_pixels,
            )
        except DankError as e:
            raise ApiError(422, "bad_image", str(e)) from e

    def find_template(self, query):
        """The template for an id, name or alias (raises ``ApiError`` 404)."""
        try:
            return self.catalogue.find(query)
        except DankError as e:
            raise ApiError(404, "unknown_template", str(e)) from e

    def _cached(self, cache, key, make, limit):
        """``cache[key]``, made by ``make()`` when missing; at most ``limit`` kept."""
        with self._cache_lock:
            value = cache.get(key)
            if value is not None:
                cache.move_to_end(key)
                return value
        value = make()  # Unlocked: two threads may both make it, which is harmless.
        with self._cache_lock:
            cache[key] = value
            while len(cache) > limit:
                cache.popitem(last=False)
        return value

    def template_picture(self, template):
        """The template's own picture with its text boxes (cached)."""
        from dank.core.images import template_picture

        def make():
            try:
                return template_picture(
                    self.generator.run.template_image_path(template),
                    template,
                    max_side=self.config.meme_side,
                    model_side=self.image_size,
                )
            except DankError as e:
                raise ApiError(404, "template_image_missing", str(e)) from e

        return self._cached(self._pictures, template.id, make, MAX_PICTURES)

    def template_thumbnail(self, template_id):
        """JPEG bytes of a template's picture for the page (exact id only)."""
        from dank.core.images import downscale, to_jpeg

        template = self.by_id.get(template_id)
        if template is None:
            raise ApiError(
                404,
                "unknown_template",
                f"no template with id {template_id!r}; GET /api/templates lists them",
            )
        return self._cached(
            self._thumbs,
            template_id,
            lambda: to_jpeg(
                downscale(self.template_picture(template).image, THUMB_SIDE), 85
            ),
            MAX_THUMBS,
        )

    # Captioning -----------------------------------------------------------------

    def caption(self, picture, n, decoder, template, seed, timeout):
        """Captions ``picture`` on the worker; returns a list of ``Meme``.

        Args:
            picture: a ``dank.core.images.Picture``.
            n: captions wanted (1..max_n).
            decoder: one of ``DECODERS``.
            template: a ``Template`` to caption for, or None for the classifier's.
            seed: decoding seed.
            timeout: seconds to wait before giving up with a 504.
        """
        if decoder not in DECODERS:
            raise ApiError(
                400, "bad_field", f"decoder must be one of {', '.join(DECODERS)}"
            )
        if decoder == "greedy" and n > 1:
            raise ApiError(
                400,
                "bad_field",
                "greedy decoding gives one caption; use n=1 or "
                "decoder diverse, beam or sample",
            )
        key = (decoder, template.id if template else None, int(seed))
        job = _Job(key, picture.name, picture.encoded, n, concurrent.futures.Future())
        self._queue.put(job)
        try:
            return job.future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            job.future.cancel()
            raise ApiError(
                504,
                "timeout",
                f"the model did not answer within {timeout:g} s; the "
                "server is busy, try again",
            ) from None

    def _work(self):
        pending = deque()
        window = self.config.batch_window_ms / 1000.0
        while True:
            if not pending:
                pending.append(self._queue.get())
            deadline = time.monotonic() + window
            while len(pending) < 4 * self.config.max_batch:
                left = deadline - time.monotonic()
                try:
                    item = (
                        self._queue.get(timeout=left)
                        if left > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                pending.append(item)
            if any(item is None for item in pending):
                for item in pending:
                    if item is not None:
                        item.future.cancel()
                return
            key = pending[0].key
            batch = [j for j in pending if j.key == key][: self.config.max_batch]
            for job in batch:
                pending.remove(job)
            self._run(
                key, [j for j in batch if j.future.set_running_or_notify_cancel()]
            )

    def _run(self, key, jobs):
        if not jobs:
            return
        decoder, template_id, seed = key
        try:
            memes = self.generator.for_images(
                [(j.name, j.encoded) for j in jobs],
                n=max(j.n for j in jobs),
                seed=seed,
                template=template_id,
                decode_config=decode_config_for(decoder, self.config.max_n),
            )
        except Exception as e:  # Handed to the request threads, which log it.
            for job in jobs:
                job.future.set_exception(e)
            return
        self.batches.append(len(jobs))
        del self.batches[:-1000]
        self.calls += 1
        if self.calls % TRIM_EVERY == 0:
            release_free_memory()
        for job, found in zip(jobs, memes):
            job.future.set_result(found[: job.n])

    def mean_batch(self):
        """Mean pictures per model call over the last 1000 calls (0 before any)."""
        batches = list(self.batches)
        return round(sum(batches) / len(batches), 2) if batches else 0

    def close(self):
        """Stops the worker and deletes the rendered files."""
        self._queue.put(None)
        self._worker.join(timeout=60)
        self.store.close()


def release_free_memory():
    """Hands glibc's free heap back to the system (a no-op without glibc)."""
    with contextlib.suppress(OSError, AttributeError):  # Not glibc (macOS).
        ctypes.CDLL(None).malloc_trim(0)  # The process's own symbols hold libc's.


def new_seed():
    """A random decoding seed (returned to the client so it can reproduce)."""
    return secrets.randbelow(MAX_SEED + 1)
