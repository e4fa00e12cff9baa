"""``recorder serve``: the web view of a database (the ``web`` extra), read-only.

Binds to 127.0.0.1 unless told otherwise; on any other address it says that
whoever reaches the port can read every recorded flow. ``--port 0`` takes a free
port; the first line printed names the address actually used.
"""

from __future__ import annotations

import socket

import click

from recorder.cli.options import database_url, db_option
from recorder.exceptions import InvalidArgument, MissingExtra

WEB_EXTRA = "pip install 'flow-recorder[web]'"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: a response's headers and body, written
    # apart, must not wait for the client's delayed ACK (40 ms on Linux).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidArgument(
            "cannot listen on %s port %d: %s" % (host, port, exc.strerror or exc)
        ) from exc
    sock.listen(128)
    return sock


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8150, show_default=True, type=click.IntRange(0, 65535), help="0: any free."
)
@click.option(
    "--poll",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.2, 3600),
    help="Seconds between refreshes of the flows page.",
)
@db_option
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, poll: float) -> None:
    """Serve a read-only web view: flows, each flow's Gantt, per-name stats, a JSON API.

    Pages load nothing from the network (every script and style is served by
    recorder itself). The JSON under /api/ is what --json prints.

    \b
    Examples:
      recorder serve
      recorder --db postgresql://127.0.0.1/recorder serve --port 8000
      recorder serve --port 0 --poll 10
    """
    try:
        import uvicorn

        from recorder.web.app import create_app, loopback_hosts
    except ImportError as exc:
        raise MissingExtra(
            "recorder serve needs the web extra (%s is missing): %s" % (exc.name, WEB_EXTRA)
        ) from exc
    app = create_app(database_url(ctx), allowed_hosts=loopback_hosts(host), poll=poll)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = "[%s]" % host if ":" in host else host
    click.echo("recorder: serving http://%s:%d/ (read-only; Ctrl-C stops)" % (shown, bound))
    if host not in LOOPBACK:
        click.echo(
            "recorder: warning: listening on %s: anyone who reaches this port can read "
            "every recorded flow" % host,
            err=True,
        )
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
