"""Template recognition: a ResNet50 that names the meme template in a picture.

Modules: ``config`` (presets), ``model`` (network), ``captions`` (caption text
layers drawn with Pillow), ``augment`` (meme-like augmentation in tf.data),
``data`` (training / validation pipelines), ``calibrate`` (known vs unknown),
``train``, ``predict``, ``evaluate`` and ``cli``.
"""
