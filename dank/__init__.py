"""dank: Dank Learning (Peirson & Tolunay, 2018) in Keras 3.

Recognise the meme template in a picture (``dank.models.vision``), write a caption for
it (``dank.models.language`` + ``dank.decoding``) and draw the meme (``dank.render``),
all tied together by ``dank.cascade`` and the ``dank`` command.
"""

__version__ = "0.1.0"
# The name pip knows dank by (setup.cfg); `dank` itself is taken on PyPI.
DISTRIBUTION = "dank-learning"
