"""Generation-quality metrics: BLEU, distinct-n, novelty, template fidelity and
the real-vs-generated classifier (issue 4's metrics, issue 8's automated
stand-in for the paper's human study).

* ``dank.metrics.text``: corpus BLEU, distinct-n, novelty (containment index).
* ``dank.metrics.classifier``: a numpy bag-of-words naive Bayes classifier and
  the real-vs-generated protocol.
* ``dank.metrics.generation``: ``generation_metrics(run_dir, ...)``, which
  generates captions for the held-out templates and scores them.
"""

from dank.metrics.generation import generation_metrics

__all__ = ["generation_metrics"]
