"""Data foundation: template catalogue, caption cleaning, vocabulary, TFRecords.

``dank data build`` (``build.build_dataset``) turns a source folder into a data
build; model code reads builds only through ``dank.data.pipeline``.
"""
