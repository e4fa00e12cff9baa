"""``/assets/FILE``: the scripts and styles the pages use, read from the package.

A fixed list, nothing else: the Gantt script and style are the very files the
static page (:mod:`recorder.render.html`) inlines, so both draw the same chart.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from recorder.exceptions import NotFound

FILES = {
    "gantt.js": ("recorder.render", "text/javascript"),
    "gantt.css": ("recorder.render", "text/css"),
    "web.css": ("recorder.web", "text/css"),
    "flows.js": ("recorder.web", "text/javascript"),
}
_FOLDER = {"recorder.render": "assets", "recorder.web": "static"}


@cache
def read_asset(name: str) -> bytes:
    if name not in FILES:
        raise NotFound("no asset %r" % name)
    package = FILES[name][0]
    return resources.files(package).joinpath(_FOLDER[package]).joinpath(name).read_bytes()


def asset(request: Request) -> Response:
    name = request.path_params["file"]
    body = read_asset(name)
    media = FILES[name][1] + "; charset=utf-8"
    return Response(body, media_type=media, headers={"cache-control": "max-age=300"})


def no_icon(_request: Request) -> Response:
    """Browsers ask for /favicon.ico on their own: answer "nothing" instead of a 404."""
    return Response(status_code=204)
