"""The run's side of a rating session: real captions, generated ones, drawn memes.

Everything model-side goes through ``dank.apps.serve.engine.Engine`` (the run loaded
once, template pictures cached, the safety filter on every generated caption),
so ``dank rate`` and ``dank serve`` draw the same memes the same way.
"""

import io
import threading

from dank.core.errors import DankError
from dank.safety import default_filter

MEME_SIDE = 640  # Longer side of a drawn meme, in pixels.
GENERATE_TIMEOUT_S = 600.0  # The first caption compiles the decoder.


def real_captions(run, real_csv=None):
    """Real captions ``[{"label", "top", "bottom"}]`` to show.

    Captions the safety filter flags are left out, as they are for generated
    ones, so a crude caption cannot give a real meme away.

    Args:
        run: the run, a path or a ``Run`` (its data build's test split is the
            default source).
        real_csv: a caption CSV (``template_id``, ``top``, ``bottom``) instead.
    """
    from dank.data.pipeline import load_captions
    from dank.models.run import Run

    run = Run.open(run)
    if real_csv is not None:
        from dank.metrics.captions import captions_from_csv

        captions, unknown = captions_from_csv(real_csv, run.catalogue, run.vocab)
        if not captions:
            raise DankError(
                f"no row of {real_csv} names a template of {run} "
                f"({unknown} unknown); check the template_id column"
            )
    else:
        data = run.data_build(instead="pass --real-csv FILE")
        captions = load_captions(data, "test")
    safety = default_filter()
    return [c for c in captions if not safety.is_flagged(c["top"], c["bottom"])]


class RunMemes:
    """A finished run that writes captions and draws memes for a session.

    Args:
        run_dir: the run (``make train`` writes ``runs/default``).
        decoder: how generated captions are decoded (as ``dank generate``).

    Attributes:
        run: the opened ``Run``.
    """

    def __init__(self, run_dir, decoder="diverse"):
        from dank.apps.serve.config import ServeConfig
        from dank.apps.serve.engine import Engine
        from dank.models.run import Run

        # A clear error for a missing run, before loading.
        self.run = Run.open(run_dir)
        self.decoder = decoder
        self.engine = Engine(
            self.run,
            ServeConfig(decoder=decoder, max_n=1, meme_side=MEME_SIDE),
            warmup=False,
        )
        self.catalogue = self.engine.catalogue
        self._png = {}
        self._lock = threading.Lock()

    def _picture(self, template):
        from dank.apps.serve.checks import ApiError

        try:
            return self.engine.template_picture(template)
        except ApiError as e:
            raise DankError(e.message) from e

    def has_picture(self, template):
        """True if the template's own picture can be drawn on."""
        try:
            self._picture(template)
        except DankError:
            return False
        return True

    def generate(self, template, seed):
        """``(top, bottom)`` the run writes for ``template``, or None."""
        memes = self.engine.caption(
            self._picture(template),
            1,
            self.decoder,
            template,
            seed,
            timeout=GENERATE_TIMEOUT_S,
        )
        return (memes[0].top, memes[0].bottom) if memes else None

    def png(self, item):
        """The item's meme as PNG bytes (drawn once)."""
        from dank.render.meme import draw_meme

        with self._lock:
            cached = self._png.get(item.id)
        if cached is None:
            picture = self._picture(self.catalogue[item.label])
            image = draw_meme(picture.image, item.top, item.bottom, boxes=picture.boxes)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            cached = buffer.getvalue()
            with self._lock:
                self._png[item.id] = cached
        return cached

    def close(self):
        """Stops the model worker."""
        self.engine.close()
