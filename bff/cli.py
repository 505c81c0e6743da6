"""``bff serve``, ``bff token``, ``bff export-schema``, ``bff sandbox``."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn
from pydantic import ValidationError

from bff.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bff", description="EV charging GraphQL BFF")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the BFF (sandbox providers by default)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers", type=int, default=None,
        help="worker processes on the port (SO_REUSEPORT); default BFF_WORKERS, else one per core",
    )  # fmt: skip
    serve.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    token = sub.add_parser("token", help="print a driver token for the dev secret")
    token.add_argument("--user", required=True, help="driver id (the token's sub)")
    token.add_argument("--ttl", type=int, default=24 * 3600, help="lifetime in seconds")
    sub.add_parser("export-schema", help="print the GraphQL SDL")
    sandbox = sub.add_parser("sandbox", help="run only the provider sandboxes")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        from bff.graphql.schema import export_sdl

        sys.stdout.write(export_sdl())
        return 0
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"bff: invalid settings: {_settings_errors(exc)}", file=sys.stderr)
        return 2
    if args.command == "token":
        from bff.auth import DriverAuth

        print(DriverAuth(settings).issue(args.user, args.ttl))
        return 0
    from bff.logs import configure_logging

    # uvicorn's own config (log_config's default) would write its access log, with the
    # sandbox's secret paths, past our redacting handler: log_config=None below.
    configure_logging(settings.log_level, settings.log_levels)
    if args.command == "sandbox":
        from bff.sandbox.server import create_sandbox_app, sandbox_config

        config = sandbox_config(settings, args.host)
        uvicorn.run(create_sandbox_app(config), host=args.host, port=args.port, log_config=None)
        return 0
    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=updates)
    from bff.server.workers import Supervisor, reuse_port_socket, worker_count

    if args.worker:  # one of a supervisor's workers: its own socket on the shared port
        _serve(settings, reuse_port_socket(settings.host, settings.port))
        return 0
    n = worker_count(settings, args.workers)
    if n > 1:
        return Supervisor(settings, n).run()
    _serve(settings, None)
    return 0


def _settings_errors(exc: ValidationError) -> str:
    """Each error with the variable it concerns; never the values (they may be secrets)."""
    lines = []
    for error in exc.errors():
        msg = str(error["msg"]).removeprefix("Value error, ")
        loc = "_".join(str(part) for part in error["loc"])
        lines.append(f"BFF_{loc.upper()}: {msg}" if loc else msg)
    return "; ".join(lines)


def _serve(settings: Settings, sock: socket.socket | None) -> None:
    from bff.app import serving_app
    from bff.seams.uvicorn import LeanWebSocketProtocol

    config = uvicorn.Config(
        serving_app(settings),
        # Its outer layers are plain functions that hand on the app's call (no frame of
        # theirs under each open socket): uvicorn would take them for ASGI 2 apps.
        interface="asgi3",
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=10,
        ws_ping_interval=None,
        ws_per_message_deflate=settings.ws_compression,
        # One message carries at most one request: no larger than a POST body (the
        # default, 16 MiB, would be read and parsed whole).
        ws_max_size=settings.max_body_bytes,
        ws=LeanWebSocketProtocol,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock] if sock is not None else None)


if __name__ == "__main__":
    raise SystemExit(main())
