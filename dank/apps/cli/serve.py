"""``dank serve``: the web page and HTTP API on a local port."""

import ipaddress
import logging
import signal

from dank.core import constants
from dank.core.errors import DankError
from dank.decoding.config import DECODERS, DEFAULT_DECODER

log = logging.getLogger(__name__)


def register(commands):
    """Adds ``dank serve``."""
    p = commands.root.add_parser(
        "serve",
        help="serve the meme maker web page and HTTP API",
        description="Load a trained run once and serve a web page and an HTTP API "
        "(POST /api/generate, GET /api/templates, /openapi.json) on a local port.",
    )
    p.add_argument(
        "--run",
        default=constants.DEFAULT_RUN,
        help="trained run directory (default: %(default)s)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: %(default)s, this machine only)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port (default: %(default)s; 0 picks a free one)",
    )
    p.add_argument(
        "--decoder",
        choices=DECODERS,
        default=DEFAULT_DECODER,
        help="decoder when a request names none (default: %(default)s)",
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="PER_MINUTE",
        help="generate requests per client address per minute (default "
        "60); every client at one address shares it: all local "
        "clients, or all clients behind a proxy unless --trust-proxy",
    )
    p.add_argument(
        "--trust-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (address or network, e.g. 127.0.0.1 or "
        "10.0.0.0/8; repeatable) whose X-Forwarded-For header names "
        "the client to rate-limit; without it the header is ignored, "
        "since any client can send one",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="longest wait for the model per request (default 60)",
    )
    p.add_argument(
        "--max-batch",
        type=int,
        default=None,
        metavar="N",
        help="most concurrent requests captioned in one model call "
        "(default 1: no batching, so a seed always gives the same "
        "captions, whatever else is running)",
    )
    p.set_defaults(func=_serve)


def config_from_args(args):
    """The ``ServeConfig`` for the command's flags."""
    from dank.apps.serve.config import ServeConfig

    config = ServeConfig(decoder=args.decoder)
    if args.rate_limit is not None:
        if args.rate_limit <= 0:
            raise DankError(f"--rate-limit must be > 0, got {args.rate_limit}")
        config = config.replace(rate_per_minute=args.rate_limit)
    if args.timeout is not None:
        if args.timeout <= 0:
            raise DankError(f"--timeout must be > 0, got {args.timeout}")
        config = config.replace(request_timeout_s=args.timeout)
    if args.max_batch is not None:
        if args.max_batch < 1:
            raise DankError(f"--max-batch must be >= 1, got {args.max_batch}")
        config = config.replace(max_batch=args.max_batch)
    if args.trust_proxy:
        for proxy in args.trust_proxy:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise DankError(
                    f"--trust-proxy {proxy!r} is not an IP address or "
                    "network; give one like 127.0.0.1 or 10.0.0.0/8"
                ) from None
        config = config.replace(trusted_proxies=tuple(args.trust_proxy))
    if not 0 <= args.port <= 65535:
        raise DankError(f"--port must be in 0..65535, got {args.port}")
    return config


def _serve(args):
    from dank.apps.serve.app import make_server
    from dank.apps.serve.engine import Engine

    config = config_from_args(args)
    try:
        public = not ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        public = args.host != "localhost"
    if public:
        log.warning("serving on %s: other machines can reach this server", args.host)
    engine = Engine(args.run, config)
    try:
        server = make_server(engine, args.host, args.port)
    except OSError as e:
        engine.close()
        raise DankError(
            f"cannot listen on {args.host}:{args.port} ({e}); pick another --port"
        ) from e
    # Tests and scripts read this line to find the port when --port 0.
    print(f"dank serve: listening on {server.url}/", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # Clean up on `kill` too.
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        engine.close()
    return 0


def _interrupt(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # A second one must not cut
    raise KeyboardInterrupt  # the clean-up short.
