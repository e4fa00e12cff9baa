"""The ASGI app: routes, the security headers every response carries, errors as pages.

Read-only by construction: every route answers GET (and HEAD) only, and the
connections are read-only (:mod:`~recorder.web.reader`). Every response carries a
Content-Security-Policy that lets a page load only what this server serves
(``'self'``): no CDN, no font or image from anywhere else, no inline script.
The Host header must name the address the server listens on (or ``localhost``),
so a web page elsewhere cannot reach it through DNS rebinding.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recorder.exceptions import InvalidArgument, LookupFailed, NotFound, RecorderError
from recorder.web import api, assets, pages
from recorder.web.reader import Reader

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
)


class SecurityHeaders:
    """Adds :data:`HEADERS` to every HTTP response (error pages included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in HEADERS:
                    headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def status_of(exc: RecorderError) -> int:
    if isinstance(exc, (LookupFailed, NotFound)):
        return 404
    if isinstance(exc, InvalidArgument):
        return 400
    return 503


async def _recorder_error(request: Request, exc: Exception) -> Response:
    """Registered for RecorderError only: a 4xx/5xx page (or JSON) with its one line."""
    status = status_of(exc) if isinstance(exc, RecorderError) else 500
    if request.url.path.startswith("/api/"):
        return api.error(str(exc), status)
    return pages.error_page(request, str(exc), status)


def loopback_hosts(host: str) -> list[str]:
    """The Host header values to accept for a server listening on ``host``."""
    if host in ("0.0.0.0", "::", ""):
        return ["*"]
    return sorted({host, "[%s]" % host if ":" in host else host, "localhost", "127.0.0.1"})


def create_app(url: str, *, allowed_hosts: Sequence[str] = ("*",), poll: float = 2.0) -> Starlette:
    """The app on the database at ``url`` (its schema checked now: a RecorderError if not).

    ``poll``: seconds between the flows page's refreshes while it shows the newest flows.
    """
    reader = Reader(url)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            reader.close()

    routes = [
        Route("/", pages.flows_page, name="flows"),
        Route("/flows/{ident}", pages.flow_page, name="flow"),
        Route("/names/{name}", pages.name_page, name="name"),
        Route("/api/flows", api.flows),
        Route("/api/flows/{ident}", api.flow),
        Route("/api/flows/{ident}/compare", api.compare),
        Route("/api/names/{name}", api.name),
        Route("/api/stats", api.stats),
        Route("/assets/{file}", assets.asset, name="asset"),
        Route("/favicon.ico", assets.no_icon),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
        ],
        exception_handlers={RecorderError: _recorder_error},
        lifespan=lifespan,
    )
    app.state.reader = reader
    app.state.poll = poll
    return app
