"""The template classifier of a run (``Run.classifier``), naming templates."""

import numpy as np

from dank.core.errors import DankError
from dank.core.images import MODEL_SIDE_FACTOR, prepare


class Classifier:
    """A trained template classifier with its catalogue and unknown threshold.

    Attributes:
        model: the Keras model (raw RGB 0..255 in; ``logits``, ``embedding`` out).
        catalogue: the run's ``Catalogue`` (label -> template).
        calibration: the dict from ``calibration.json``.
        image_size: the model's input side S in pixels.
        threshold: ``known`` means the top probability is at least this.
    """

    def __init__(self, model, catalogue, calibration, image_size):
        from dank.models.vision.model import inference_function

        self.model = model
        self.catalogue = catalogue
        self.calibration = calibration
        self.image_size = int(image_size)
        self.threshold = float(calibration["threshold"])
        self._forward = inference_function(model)

    def preprocess(self, images):
        """Resizes images (one array [B,H,W,3] or a list of [H,W,3]) to [B,S,S,3]."""
        import tensorflow as tf

        size = (self.image_size, self.image_size)
        if isinstance(images, np.ndarray | tf.Tensor) and len(images.shape) == 4:
            batch = tf.cast(images, tf.float32)
            if tuple(batch.shape[1:3]) == size:
                return batch
            return tf.image.resize(batch, size, antialias=True)
        resized = [
            tf.image.resize(
                tf.cast(np.asarray(image), tf.float32), size, antialias=True
            )
            for image in images
        ]
        if not resized:
            return tf.zeros((0, *size, 3), tf.float32)
        return tf.stack(resized)

    def predict(self, images):
        """Returns (probs float32 [B, n_templates], embedding float32 [B, 2048]).

        Args:
            images: RGB pixels 0..255, uint8 or float: an array [B, H, W, 3] of
                any size, or a list of [H, W, 3] arrays of different sizes.
        """
        import tensorflow as tf

        batch = self.preprocess(images)
        out = self._forward(batch)
        probs = tf.nn.softmax(tf.cast(out["logits"], tf.float32))
        return probs.numpy(), tf.cast(out["embedding"], tf.float32).numpy()

    def describe(self, probs, top_k=5, order=None, shown=None):
        """Turns one row of probabilities into the ``dank classify`` dict parts.

        ``known`` comes from ``probs``, the whole picture's (the threshold was
        calibrated on those). ``shown`` (default ``probs``), e.g. the mean over
        the test-time views, gives the probabilities listed and their order;
        ``order`` ranks the labels instead (the second look,
        ``rerank.SecondLook.order``).
        """
        shown = probs if shown is None else shown
        order = np.argsort(-shown, kind="stable") if order is None else order
        order = np.asarray(order)[:top_k]
        templates = []
        for label in order:
            template = self.catalogue[int(label)]
            templates.append(
                {
                    "id": template.id,
                    "name": template.name,
                    "prob": round(float(shown[label]), 6),
                    "aliases": list(template.aliases),
                }
            )
        return {"templates": templates, "known": bool(probs.max() >= self.threshold)}


def load_array(path, image_size):
    """An image file ("-": stdin) as uint8 [H, W, 3], through ``prepare``.

    It is shrunk to ``MODEL_SIDE_FACTOR`` times the model's side, so a huge
    photo costs no more than a small one.
    """
    return prepare(path, max_side=image_size * MODEL_SIDE_FACTOR).pixels


def classify_files(
    paths, classifier, top_k=5, batch_size=16, second_look=None, views=True
):
    """Classifies image files with ``classifier`` (``Run.classifier``); yields
    one dict per path, in order.

    A good file gives ``{"image", "templates": [{"id", "name", "prob",
    "aliases"}, ...], "known"}``; a bad one (missing, corrupt, not an image)
    gives ``{"image", "error"}`` and the rest carry on. ``views`` (on by
    default) ranks by, and shows, the mean probabilities over five views of
    each picture (``views.py``) and ``second_look`` (a ``rerank.SecondLook``,
    off by default) then re-orders the top candidates; ``known`` stays the
    whole picture's (``Classifier.describe``).
    """
    from dank.core.images import display_name

    paths = [str(p) for p in paths]
    for start in range(0, len(paths), batch_size):
        chunk = paths[start : start + batch_size]
        arrays, results = {}, {}
        for i, path in enumerate(chunk):
            # Keyed by position: the same file named twice is two results.
            try:
                arrays[i] = load_array(path, classifier.image_size)
            except DankError as e:
                results[i] = {"image": display_name(path), "error": str(e)}
        if arrays:
            probs = _predict_padded(classifier, list(arrays.values()))
            ranking = probs
            if views:
                ranking = multi_view(classifier, list(arrays.values()), probs)
            for i, row, rank in zip(arrays, probs, ranking):
                order = None
                if second_look is not None:
                    order = second_look.order(arrays[i], rank, classifier.catalogue)
                results[i] = {
                    "image": display_name(chunk[i]),
                    **classifier.describe(row, top_k, order, shown=rank),
                }
        yield from (results[i] for i in range(len(chunk)))


def multi_view(classifier, arrays, probs):
    """``views.combine`` of each picture of ``arrays``: its whole-picture
    ``probs`` row and its ``views.extra_views``, run as one padded batch."""
    from dank.models.vision import views

    extra = [v for array in arrays for v in views.extra_views(array)]
    extra_probs = _predict_padded(classifier, extra).reshape(
        len(arrays), len(views.NAMES), -1
    )
    return views.combine(probs, extra_probs)


def _predict_padded(classifier, arrays):
    """Probabilities of ``arrays``, run as a batch padded to a power of two.

    A chunk holds however many of its files could be read; padding keeps the
    batch shapes to a handful, each traced once, instead of one trace per count.
    """
    import tensorflow as tf

    batch = classifier.preprocess(arrays)
    pad = 2 ** (len(arrays) - 1).bit_length() - len(arrays)
    if pad > 0:
        batch = tf.concat([batch, tf.zeros((pad, *batch.shape[1:]), batch.dtype)], 0)
    return classifier.predict(batch)[0][: len(arrays)]
