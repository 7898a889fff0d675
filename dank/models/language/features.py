"""Image features of every template, from the run's trained vision model.

The image variants (``image``, ``label_average``, ``attention``) need one
2048-d embedding per template. They are computed once, at the start of
language training, from the build's template images and stored inside the
caption model as a non-trainable table.
"""

import contextlib

import numpy as np

from dank.core import constants
from dank.core.errors import DankError


def template_features(run_dir, data_dir, n_templates, batch_size=16):
    """Returns float32 ``[n_templates, D]`` vision embeddings, row = label.

    Raises:
        DankError: the run has no trained vision model, or a template lacks an
            image in the build.
    """
    import keras
    import tensorflow as tf

    from dank.core.run import RunLayout, read_run_info
    from dank.data.pipeline import image_dataset

    path = RunLayout(run_dir).model_file(constants.VISION_DIR)
    if not path.is_file():
        raise DankError(
            f"{path} not found: the image-based caption variants need the run's "
            f"vision model. Train it first: `dank train vision --run {run_dir}` "
            "(or use --variant template, which needs none)."
        )
    with contextlib.suppress(ImportError):
        import dank.models.vision.model  # noqa: F401  (registers its layers)
    vision = keras.saving.load_model(path, compile=False)
    vision_info = read_run_info(run_dir).get("components", {}).get("vision", {})
    size = int(vision_info.get("image_size", 224))

    def prepare(example):
        image = tf.image.resize(tf.cast(example["image"], tf.float32), (size, size))
        return image, example["label"]

    features, seen = None, set()
    for images, labels in image_dataset(data_dir).map(prepare).batch(batch_size):
        embedding = np.asarray(vision(images, training=False)["embedding"])
        if features is None:
            features = np.zeros((n_templates, embedding.shape[-1]), dtype="float32")
        for label, row in zip(labels.numpy(), embedding):
            features[int(label)] = row
            seen.add(int(label))
    missing = sorted(set(range(n_templates)) - seen)
    if features is None or missing:
        raise DankError(
            f"the data build {data_dir} has no image for template labels "
            f"{missing[:10]}; rebuild the data"
        )
    return features
