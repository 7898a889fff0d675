"""``HumorScorer``: a trained humour model scoring (top, bottom) pairs.

A run's scorer is ``Run.open(run_dir).humor`` (``dank.models.run``).
"""

import numpy as np

from dank.data import text
from dank.models.humor.examples import pad


class HumorScorer:
    """Scores captions for a template with a humour model.

    Args:
        model: a model from ``build_humor_model`` (trained).
        vocab: the build's ``Vocabulary``.
        n_templates: templates in the catalogue; other labels score as unknown.
        max_len: tokens per caption the model takes.
    """

    def __init__(self, model, vocab, n_templates, max_len):
        self.model = model
        self.vocab = vocab
        self.n_templates = int(n_templates)
        self.max_len = int(max_len)

    def encode(self, captions):
        """``(top, bottom)`` pairs -> int32 token ids ``[n, max_len]``."""
        return pad(
            [self.vocab.encode(text.caption_tokens(t, b)) for t, b in captions],
            self.max_len,
        )

    def labels(self, labels, n):
        """Labels for ``n`` captions; ``None`` or unknown -> the unknown row."""
        if labels is None or np.isscalar(labels):
            labels = [labels] * n
        out = np.array(
            [
                lab
                if lab is not None and 0 <= int(lab) < self.n_templates
                else self.n_templates
                for lab in labels
            ],
            dtype=np.int32,
        )
        if len(out) != n:
            raise ValueError(f"{len(out)} labels for {n} captions")
        return out

    def score(self, captions, labels=None, batch_size=1024):
        """Humour scores (0..1, higher is funnier) of ``(top, bottom)`` pairs.

        Args:
            captions: a list of ``(top, bottom)`` pairs.
            labels: one template label for all, a label per caption, or ``None``
                (unknown template: a template-free score).
            batch_size: captions per forward pass.

        Returns:
            float64 ``[n]``.
        """
        captions = list(captions)
        if not captions:
            return np.zeros(0)
        x = {
            "tokens": self.encode(captions),
            "label": self.labels(labels, len(captions)),
        }
        # Direct calls: predict() costs more than the model for a few candidates.
        parts = [
            np.asarray(
                self.model(
                    {k: v[i : i + batch_size] for k, v in x.items()}, training=False
                )
            )
            for i in range(0, len(captions), batch_size)
        ]
        return np.concatenate(parts).astype(np.float64).reshape(-1)
