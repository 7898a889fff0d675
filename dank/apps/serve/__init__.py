"""``dank serve``: a small local web app and HTTP API for making memes.

The pieces, one module each:

* ``config``: ``ServeConfig``, the server's limits as data.
* ``store``: rendered PNGs in a temp dir, named by random tokens, expired by
  age and count.
* ``checks``: what a request must pass before it reaches the model (multipart
  parsing, content-type and magic bytes, size and pixel limits, rate limit).
* ``engine``: the run loaded once; a single worker thread owns TensorFlow and
  batches concurrent requests.
* ``openapi``: the OpenAPI description of the routes.
* ``app``: the HTTP server (the standard library's ``ThreadingHTTPServer``).
* ``cli``: ``dank serve``.
* ``client``, ``loadtest``: a small keep-alive client and the bounded load
  test that the tests and ``experiments/benchmarks/bench_serve.py`` share.
"""
