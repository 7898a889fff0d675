"""Finds backbone weights before anything heavy is imported, so a bad
``--weights`` fails in a second rather than after TensorFlow has started."""

import os
from pathlib import Path

from dank.core.errors import DankError

IMAGENET_NOTOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"


def imagenet_cache_path():
    """Where Keras keeps the ImageNet ResNet50 (no top) weights once downloaded."""
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    return Path(home) / "models" / IMAGENET_NOTOP_FILE


def resolve_weights(weights):
    """Returns the weights file for ``--weights`` (``imagenet`` or a path).

    Raises:
        DankError: ImageNet weights are not in Keras' cache (nothing is
            downloaded at run time), or the file does not exist.
    """
    if weights == "imagenet":
        path = imagenet_cache_path()
        if not path.is_file():
            raise DankError(
                f"--weights imagenet: {path} is not in Keras' cache and dank does "
                "not download at run time. Copy the ResNet50 no-top weights file "
                "there (keras.applications.ResNet50(weights='imagenet', "
                "include_top=False) on a machine online), pass --weights PATH, or "
                "omit --weights to train from scratch."
            )
        return path
    path = Path(weights)
    if not path.is_file():
        raise DankError(
            f"--weights {weights}: no such file; pass an .h5 or .keras file"
        )
    if path.suffix not in (".h5", ".keras"):
        raise DankError(f"--weights {weights}: expected an .h5 or .keras file")
    return path
