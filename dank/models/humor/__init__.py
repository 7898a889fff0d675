"""Funniest first: a humour model trained on upvotes that reranks captions.

``Run.open(run_dir).humor.score(captions, label)`` scores captions;
``rerank(candidates, label, k, ...)`` picks the best ones, never a copy of the
training data and never one the safety filter flags. Training: ``train_humor``
(``dank train humor``); the check against crowd ratings: ``evaluate_ratings``
(``dank evaluate humor``).
"""

from dank.models.humor.config import PRESETS, HumorConfig
from dank.models.humor.rerank import NoveltyIndex, RankedCaption, rerank
from dank.models.humor.score import HumorScorer

__all__ = [
    "PRESETS",
    "HumorConfig",
    "HumorScorer",
    "NoveltyIndex",
    "RankedCaption",
    "rerank",
]
