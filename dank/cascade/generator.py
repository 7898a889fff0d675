"""``MemeGenerator``: a finished run loaded once, turning pictures into drawn memes.

This is the one path every generated caption takes on its way out, so the
safety filter sits here: a flagged caption is dropped and more are drawn with a
new seed, never shown (``safety=False`` exists for research, with a warning).
The resampling loop itself is ``dank.safety.resample.collect_captions``, which
the exported models' runner shares.
"""

import logging
from dataclasses import dataclass

import numpy as np

from dank.core import constants
from dank.core.errors import DankError
from dank.safety import default_filter
from dank.safety.resample import collect_captions

log = logging.getLogger(__name__)


@dataclass
class Meme:
    """One generated caption for one picture."""

    image: str  # The input's name.
    template_id: str
    template_name: str
    known: bool  # Did the classifier recognise the template (or the user name it)?
    top: str
    bottom: str
    score: float  # The decoder's ranking score (length-normalised log-probability).
    humor: float | None = None  # The humour model's score (0..1) with --rerank humor.

    def to_json(self, file=None):
        """The ``dank generate`` JSON line for this meme."""
        return {
            "image": self.image,
            "template": {"id": self.template_id, "name": self.template_name},
            "known": self.known,
            "top": self.top,
            "bottom": self.bottom,
            "score": round(self.score, 4),
            **({} if self.humor is None else {"humor": round(self.humor, 4)}),
            "file": None if file is None else str(file),
        }


class MemeGenerator:
    """Loads ``run_dir`` and generates captions for pictures or templates.

    Args:
        run_dir: a finished run (``make train`` writes ``runs/default``): a
            path or a ``dank.models.run.Run``.
        decode_config: a ``dank.decoding.DecodeConfig``.
        mix_top_k: condition on the top-k templates mixed by probability.
        safety: filter offensive captions (on unless you are doing research).
        rerank: None, or ``"humor"`` to draw ``candidates`` captions per picture
            and keep the funniest by the run's humour model (``dank train humor``),
            with a penalty for captions copied from the training data.
        candidates: captions drawn per picture before reranking.
        views: rank a picture's templates by the mean over five views of it
            (``dank.models.vision.views``: whole, borders trimmed, top and
            bottom two thirds, centre), as ``dank classify`` does; its
            ``known`` and the picture embedding stay the whole picture's.
        second_look: then re-order the top templates by finding each one's
            picture in the meme (``dank.models.vision.rerank``), as ``dank
            classify`` does; off, with a warning, when the run's data build
            (the template pictures) is gone.
    """

    def __init__(
        self,
        run_dir,
        decode_config,
        mix_top_k=1,
        safety=True,
        rerank=None,
        candidates=20,
        views=True,
        second_look=True,
    ):
        from dank.cascade.module import Cascade
        from dank.models.run import Run
        from dank.models.vision.rerank import for_build

        self.run = Run.open(run_dir)
        self.run_dir = self.run.path
        classifier = self.classifier = self.run.classifier
        self.views = views
        self.second_look = for_build(self.run.data_dir) if second_look else None
        captioner = self.run.captioner()
        # Pictures of no known template are captioned by the image-conditioned
        # variant (paper variant a) when the run has one:
        # `dank train language --variant image --run RUN`.
        image = constants.language_dir("image")
        fallback = self.run.captioner("image") if self.run.has(image) else None
        vocab = self.run.vocab
        self.catalogue = classifier.catalogue
        self.image_size = classifier.image_size
        self.config = decode_config

        def cascade(config):
            return Cascade(
                classifier.model,
                captioner,
                vocab.tokens,
                classifier.threshold,
                classifier.image_size,
                config,
                fallback=fallback,
                mix_top_k=mix_top_k,
            )

        self._new_cascade = cascade
        self.cascade = cascade(decode_config)
        self._cascades = {decode_config: self.cascade}
        self.safety = default_filter() if safety else None
        if not safety:
            log.warning(
                "safety filter OFF: captions may be offensive (research use only)"
            )
        if rerank not in (None, "humor"):
            raise DankError(f"unknown --rerank {rerank!r}; the choice is: humor")
        self.rerank, self.candidates = rerank, int(candidates)
        if rerank == "humor":
            self._load_reranker()

    def _load_reranker(self):
        from dank.data.pipeline import load_captions
        from dank.models.humor.rerank import NoveltyIndex

        self.scorer = self.run.humor
        train = load_captions(self.run.data_build(), "train")
        self.novelty = NoveltyIndex((c["top"], c["bottom"]) for c in train)

    def _clean(self, top, bottom):
        return self.safety is None or not self.safety.is_flagged(top, bottom)

    def cascade_for(self, decode_config=None):
        """The cascade that decodes with ``decode_config`` (default: the one this
        generator was made with); every cascade shares the loaded models."""
        config = decode_config or self.config
        if config not in self._cascades:
            self._cascades[config] = self._new_cascade(config)
        return self._cascades[config]

    def for_images(self, images, n=1, seed=0, template=None, decode_config=None):
        """Captions encoded pictures; returns one list of ``Meme`` per picture.

        Args:
            images: list of ``(name, jpeg_bytes)``.
            n: captions wanted per picture.
            seed: decoding seed (same seed, same captions).
            template: a template id or name to use instead of the classifier's guess.
            decode_config: decode with this ``DecodeConfig`` instead of the
                generator's own (``dank serve`` picks the decoder per request).
        """
        import tensorflow as tf

        if not images:
            return []
        config = decode_config or self.config
        cascade = self.cascade_for(config)
        batch = tf.constant([data for _, data in images])
        found = cascade.classify(batch)
        probs = found["probs"].numpy()
        known = found["known"].numpy()
        if template is not None:
            chosen = self.catalogue.find(template)
            weights = tf.one_hot([chosen.label] * len(images), len(self.catalogue))
            labels = [chosen.label] * len(images)
            known = np.ones(len(images), bool)
        else:
            ranking = self._ranking(images, probs)
            weights = cascade.template_weights(tf.constant(ranking, tf.float32))
            labels = ranking.argmax(axis=-1).tolist()

        def decode_round(round_seed):
            out = cascade.caption(
                weights, found["embedding"], tf.constant(known), round_seed
            )
            return out["top"].numpy(), out["bottom"].numpy(), out["scores"].numpy()

        wanted = self.candidates if self.rerank else n
        picked = collect_captions(
            decode_round, max(n, wanted), seed, config.method, self._clean
        )
        memes = []
        for (name, _), label, is_known, rows in zip(images, labels, known, picked):
            entry = self.catalogue[int(label)]
            if self.rerank:
                rows = self._rerank(rows, int(label), n, seed)
            memes.append(
                [Meme(name, entry.id, entry.name, bool(is_known), *r) for r in rows]
            )
        return memes

    def _ranking(self, images, probs):
        """``probs`` (the whole pictures') averaged with the other views of each
        picture of ``images`` (``predict.multi_view``) and re-ordered by the
        second look (``SecondLook.reordered``), as far as they are on."""
        if not self.views and self.second_look is None:
            return probs
        from dank.core.images import prepare
        from dank.models.vision.predict import multi_view

        arrays = [prepare(data, name).pixels for name, data in images]
        ranking = multi_view(self.classifier, arrays, probs) if self.views else probs
        if self.second_look is not None:
            ranking = np.stack(
                [
                    self.second_look.reordered(a, r, self.catalogue)
                    for a, r in zip(arrays, ranking)
                ]
            )
        return ranking

    def _rerank(self, rows, label, n, seed):
        """The ``n`` funniest of ``rows``, as ``(top, bottom, score, humor)``."""
        from dank.models.humor.rerank import rerank

        ranked = rerank(
            [(top, bottom) for top, bottom, _ in rows],
            label,
            k=n,
            train_texts=self.novelty,
            scorer=self.scorer,
            seed=seed,
            safety=self.safety,
        )
        return [(r.top, r.bottom, r.score, r.humor) for r in ranked]
