"""``dank rate``: blind human ratings of real and generated memes.

The paper's human study asked raters whether a meme was real or generated.
This collects the same judgement (and a 1-5 funniness score) locally, through
a web form or the terminal, into a CSV that later sessions append to.
"""
