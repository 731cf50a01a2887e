"""``skyscan serve``: the command that runs the service (``register(subparsers)`` adds it)."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

DESCRIPTION = """\
Run the SkyDriver-compatible scan service: the SkyDriver REST API v2.4.x (same routes, bodies,
manifest, status states and result format) over HTTP, with its own store and scanner.

A POST /scan is queued in the backlog; the backlog launches scans by priority (>= 100 is
realtime) and then age, at most --max-concurrent-scans at once. Each scan runs the HEALPix
scanner with --workers pixel workers, in-process or fed through RabbitMQ (--pool rabbitmq
--broker URL), reporting progress and partial results into the store as SkyDriver's scanner does.

Auth: bearer tokens. Tokens of the `user` role launch, read, delete, rescan and find scans;
tokens of the `system` role are for scanners (PATCH manifest, PUT result, POST ewms/workflow-id).
Set them in SKYSCAN_USER_TOKENS / SKYSCAN_SYSTEM_TOKENS (JSON lists) or in the TOML file; they
are never logged. A missing or unknown token gets 403, as from SkyDriver.

Restarts: a scan running when the service stops is run again from the start. SIGTERM/SIGINT puts
running scans back in the backlog at once; after a crash they go back once their heartbeat is
older than stale_after_s; after max_restarts such orphanings a scan is failed (FINISHED__*).

The API describes itself: GET /openapi.json (OpenAPI 3.1: every route, each status it answers,
the exact bodies), /docs (Swagger UI) and /redoc. They need a token of either role, as the API
does, unless public_api_docs is true (SKYSCAN_PUBLIC_API_DOCS, or --public-api-docs).

Every setting can come from SKYSCAN_<NAME> or the TOML file (--config); options below win.
Logs are JSON lines on stderr."""

EPILOG = """\
examples:
  SKYSCAN_USER_TOKENS='["s3cret"]' skyscan serve --port 0
  skyscan serve --config /etc/skyscan.toml --database-url postgresql+psycopg://skyscan@db/skyscan
  skyscan serve --pool rabbitmq --broker amqp://guest:guest@127.0.0.1:5672/ --workers 8

settings file (TOML, keys as the setting names):
  user_tokens = ["..."]
  system_tokens = ["..."]
  max_concurrent_scans = 2
  progress_interval_s = 60
  reco_options = { dummy = { delay_s = 0.5 } }
  public_api_docs = false"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the ``skyscan`` command line."""
    parser = subparsers.add_parser(
        "serve",
        help="run the SkyDriver-compatible scan service (HTTP)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, metavar="TOML", help="settings file (TOML)")
    parser.add_argument("--host", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port; 0 picks a free one and prints it (default 8080)")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL of the store (default sqlite:///skyscan.sqlite3)",
    )
    parser.add_argument("--workers", type=int, metavar="N", help="pixel workers per running scan (default 2)")
    parser.add_argument("--max-concurrent-scans", type=int, metavar="N", help="scans run at once (default 1)")
    parser.add_argument(
        "--pool", dest="pool_kind", choices=["inprocess", "rabbitmq"], help="pixel worker pool"
    )
    parser.add_argument(
        "--broker", dest="broker_url", metavar="AMQP_URL", help="RabbitMQ URL for --pool rabbitmq"
    )
    parser.add_argument(
        "--progress-interval",
        dest="progress_interval_s",
        type=float,
        metavar="S",
        help="seconds between progress reports (default 60)",
    )
    parser.add_argument(
        "--result-interval",
        dest="result_interval_s",
        type=float,
        metavar="S",
        help="seconds between partial results (default 120)",
    )
    parser.add_argument(
        "--public-api-docs",
        action="store_true",
        default=None,
        help="serve /openapi.json, /docs and /redoc without a token (default: a token is needed)",
    )
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default INFO")
    parser.set_defaults(handler=serve)


_OPTIONS = (
    "host",
    "port",
    "database_url",
    "workers",
    "max_concurrent_scans",
    "pool_kind",
    "broker_url",
    "progress_interval_s",
    "result_interval_s",
    "public_api_docs",
    "log_level",
)


def serve(args: argparse.Namespace) -> int:
    """Run the service until SIGINT/SIGTERM."""
    import uvicorn

    from skybase.logs import configure_logging
    from skybase.setting_limits import error_line
    from skybase.settings import SettingsFileError, SettingsValueError
    from skyscan.server.app import create_app
    from skyscan.server.reason import ReasonPhrase
    from skyscan.settings import SkyscanSettings, load_settings

    overrides: dict[str, Any] = {
        name: getattr(args, name) for name in _OPTIONS if getattr(args, name, None) is not None
    }
    try:
        settings = load_settings(args.config, **overrides)
    except ValidationError as exc:  # one line: the setting, its value (never a token's), what is allowed
        print(f"skyscan serve: error: {error_line(exc, SkyscanSettings)}", file=sys.stderr)
        return 2
    except (SettingsFileError, SettingsValueError) as exc:
        print(f"skyscan serve: error: {exc}", file=sys.stderr)
        return 2
    configure_logging("skyscan", settings.log_level, repeat_interval_s=settings.log_repeat_interval_s)
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # inherited by every accepted connection: without it, each answer on a kept-alive connection
    # waited ~40 ms (Nagle's algorithm against the client's delayed ACK; uvicorn does not set it)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        print(
            f"skyscan serve: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc} "
            "(another process holds it? choose another --port, or 0 for a free one)",
            file=sys.stderr,
        )
        return 2
    # listen before uvicorn starts: "ready" is announced from the app's startup, which uvicorn runs
    # before it listens; connections made in between wait in the backlog instead of being refused
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"

    def ready() -> None:
        print(f"skyscan serving on {url}", flush=True)

    try:
        app = create_app(settings, on_ready=ready)
    except ValueError as exc:
        print(f"skyscan serve: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        ReasonPhrase(app), log_config=None, lifespan="on", http="h11", timeout_graceful_shutdown=30
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0
