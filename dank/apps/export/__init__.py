"""Exporting a trained run: one SavedModel, or ONNX files plus a numpy runner.

* ``dank.apps.export.savedmodel``: the whole cascade as a SavedModel with named
  endpoints (``classify``, ``caption``, ``generate``, ...), loadable with plain
  ``tf.saved_model.load``.
* ``dank.apps.export.onnx``: the classifier and the caption step model as ONNX files
  (via that SavedModel and tf2onnx), with ``ort_runner.py`` copied beside them.
* ``dank.apps.export.ort_runner``: numpy + onnxruntime only; runs the exported ONNX
  files and the decoding loops, so it ships without TensorFlow.
* ``dank.apps.export.card``: the ``MODEL_CARD.md`` written beside either export.

This package imports nothing heavy, so ``ort_runner`` stays TensorFlow-free.
"""
