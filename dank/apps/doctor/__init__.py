"""``dank doctor`` and ``dank summary``: checks that explain problems and their fixes.

* ``report``: a ``Check`` (ok / warn / fail / skip, with cause and fix) and the
  ``Report`` that renders checks for a terminal or as JSON.
* ``environment``: Python and package versions against the pins, the
  TensorFlow import, oneDNN, CPU features, GPU.
* ``resources``: free disk and memory, the font, cached ImageNet weights.
* ``data``: the committed starter set and a data build (TFRecords, catalogue,
  vocabulary).
* ``runcheck``: a trained run: loading, versions, vision accuracy, perplexity.
* ``symptoms``: degenerate generation (identical, repetitive, unknown-word,
  copied, bottomless or rambling captions) from generated text alone.
* ``metrics``: reading a run's ``metrics.json`` files (shared with summary).
* ``summary``: what ``make train`` prints at the end.
* ``cli``: ``dank doctor`` and ``dank summary``.
"""
