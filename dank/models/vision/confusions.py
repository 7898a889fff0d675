"""The classifier's hardest validation images, for TensorBoard's images tab.

After training, the validation images with the lowest probability on their
true template (the misclassified ones first) are drawn with their true and
guessed template names in meme style, plus a table of the same in the text tab.
"""

import numpy as np

HARD_EXAMPLES = 8  # Validation images logged.
SIDE = 256  # Pixels: the small training images are enlarged so names fit.


def hardest(probs, labels, k=HARD_EXAMPLES):
    """Indices of the ``k`` rows with the lowest probability on their label."""
    true = probs[np.arange(len(labels)), labels]
    return [int(i) for i in np.argsort(true, kind="stable")[:k]]


def _pick(batches, indices):
    """``{index: image array}`` for ``indices`` of a dataset of (images, labels)."""
    wanted, found, offset = set(indices), {}, 0
    for images, _ in batches:
        n = int(images.shape[0])
        for i in wanted:
            if offset <= i < offset + n:
                found[i] = images[i - offset].numpy()
        offset += n
        if len(found) == len(wanted):
            break
    return found


def log_confusions(log_dir, step, batches, probs, labels, catalogue, k=HARD_EXAMPLES):
    """Writes the ``k`` hardest validation images and their table to ``log_dir``.

    Args:
        log_dir: the TensorBoard run (``vision/logs/validation``).
        step: the x axis (optimizer steps).
        batches: the validation dataset ``probs`` was computed on, same order.
        probs: ``[N, n_templates]`` probabilities.
        labels: ``[N]`` true labels.
        catalogue: the run's catalogue (names).
    """
    from PIL import Image

    from dank.core.summaries import write_summaries
    from dank.render.meme import draw_meme

    order = hardest(probs, labels, k)
    arrays = _pick(batches, order)
    rows = ["| # | true | guess | p(true) | p(guess) |", "|---|---|---|---|---|"]
    images = {}
    for rank, i in enumerate(order):
        true, guess = int(labels[i]), int(np.argmax(probs[i]))
        names = catalogue[true].name, catalogue[guess].name
        rows.append(
            f"| {rank} | {names[0]} | {names[1]} | {probs[i, true]:.3f} | "
            f"{probs[i, guess]:.3f} |"
        )
        pixels = np.clip(np.round(arrays[i]), 0, 255).astype(np.uint8)
        picture = Image.fromarray(pixels).resize((SIDE, SIDE), Image.Resampling.NEAREST)
        images[f"confusions/{rank}"] = draw_meme(
            picture, f"true: {names[0]}", f"guess: {names[1]}"
        )
    write_summaries(log_dir, step, texts={"confusions": "\n".join(rows)}, images=images)
    return order
