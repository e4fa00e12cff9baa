"""``recorder serve`` in a real browser: flows -> flow -> stats, the Gantt zoomed, nothing
fetched from outside 127.0.0.1; on SQLite and on PostgreSQL.

Headless Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright's
Python package (``executable_path``: no browser is downloaded). Every request the
pages make goes through a route that records it and aborts anything not for
127.0.0.1. Screenshots go to ``test-artifacts/web/<database>/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.query.runs import record_demo
from tests.web.runs import GAP_HOURS, REQUIRE, record_parallel, record_resumed
from tests.web.serving import get_json, served

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        reason = "no chromium (Debian package 'chromium')"
        if REQUIRE:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as driver:
        found = driver.chromium.launch(executable_path=binary, args=["--no-sandbox"])
        try:
            yield found
        finally:
            found.close()


class Watched:
    """A page whose requests, console errors and script errors are recorded."""

    def __init__(self, browser: Browser, width: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).hostname != "127.0.0.1":
            self.outside.append(url)
            route.abort()
        else:
            route.continue_()

    def open(self, url: str, *, gantt: bool = False) -> Page:
        self.page.goto(url)
        if gantt:
            self.page.wait_for_selector('body[data-rendered="yes"]')
        return self.page

    def shot(self, path: Path, *, chart: bool = False) -> None:
        target: Any = self.page.locator("#chart") if chart else self.page
        kwargs = {} if chart else {"full_page": True}
        target.screenshot(path=str(path), **kwargs)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def close(self) -> None:
        self.context.close()


def attempts(document: Any) -> int:
    return sum(len(a["attempts"]) for a in document["atoms"])


def chart_view(page: Page) -> tuple[float, float, float]:
    chart = page.locator("#chart")
    values = [chart.get_attribute(k) for k in ("data-view-start", "data-view-end", "data-total")]
    start, end, total = (float(v or "nan") for v in values)
    return start, end, total


def test_walk_flows_flow_stats_zoom_and_nothing_leaves(
    db_url: str, browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    out = ARTIFACTS / kind
    out.mkdir(parents=True, exist_ok=True)
    first = record_demo(db_url, speed=100)
    wide = record_parallel(db_url)
    resumed = record_resumed(db_url, tmp_path, monkeypatch)
    with served(db_url, poll=0.3) as base:
        w = Watched(browser, 1280)
        page = w.open(base + "/")
        rows = page.locator("#flows tbody tr")
        assert [rows.nth(i).get_attribute("data-uuid") for i in range(rows.count())] == [
            resumed,
            wide,
            first,
        ]
        w.shot(out / "flows.png")

        # Live: a flow recorded while the page is open shows up without a reload.
        second = record_demo(db_url, speed=100)
        page.wait_for_selector('#flows tr[data-uuid="%s"].fresh' % second, timeout=15_000)
        assert rows.first.get_attribute("data-uuid") == second

        # flows -> flow (by clicking its name)
        page.click('#flows tr[data-uuid="%s"] td.name a' % second)
        page.wait_for_selector('body[data-rendered="yes"]')
        document = get_json(base + "/api/flows/" + second)
        assert page.get_attribute("body", "data-bars") == str(attempts(document))
        assert page.locator("#chart g.bar").count() == attempts(document)
        assert page.locator("#verify .ok").count() == 1
        assert page.locator("#compare tbody tr").count() == len(document["atoms"])
        assert "book-courier" in page.inner_text("#failures")
        w.shot(out / "flow-demo.png")

        # flow -> stats of its name
        page.click("#stats-link")
        page.wait_for_selector("#atom-stats")
        assert page.locator("#atom-stats tbody tr").count() == len(document["atoms"])
        assert page.locator("svg.plot circle.dot").count() == 2  # both demo runs finished
        w.shot(out / "stats.png")

        # The 200-atom parallel flow: every bar drawn; then zoom in with a brush.
        page = w.open(base + "/flows/" + wide, gantt=True)
        assert page.locator("#chart g.bar").count() == 200
        assert page.locator("#chart text.name").count() == 200
        w.shot(out / "flow-200.png")
        box = page.locator("#chart svg.gantt-rows").bounding_box()
        assert box is not None
        start_x, y = box["x"] + box["width"] * 0.45, box["y"] + 60
        page.mouse.move(start_x, y)
        page.mouse.down()
        page.mouse.move(start_x + 80, y + 40, steps=5)
        page.mouse.move(start_x + box["width"] * 0.2, y + 80, steps=5)
        page.mouse.up()
        v0, v1, total = chart_view(page)
        assert 0 < v0 < v1 < total and (v1 - v0) < 0.4 * total
        page.locator("#chart").scroll_into_view_if_needed()
        w.shot(out / "flow-200-zoomed.png", chart=True)
        page.dblclick("#chart svg.gantt-rows", position={"x": box["width"] * 0.6, "y": 30})
        assert chart_view(page)[:2] == (0.0, total)

        # The resumed flow: two lanes, the 3-hour gap collapsed, the work legible.
        page = w.open(base + "/flows/" + resumed, gantt=True)
        chart = page.locator("#chart")
        assert chart.get_attribute("data-lanes") == "2"
        assert chart.get_attribute("data-gaps") == "1"
        gap = float(page.get_attribute("#chart g.gap", "data-gap") or "0")
        assert GAP_HOURS * 3600 - 60 < gap < GAP_HOURS * 3600 + 60
        plot_width = float(box["width"])
        bars = page.locator('#chart g.bar[data-atom="s01"] rect.phase-running')
        assert float(bars.get_attribute("width") or 0) > 0.05 * plot_width
        w.shot(out / "flow-resumed.png")
        w.close()

        # Readable at 760 px: nothing wider than the window; the tooltip stays inside it.
        narrow = Watched(browser, 760)
        for uuid, name in ((resumed, "resumed"), (wide, "200"), (second, "demo")):
            page = narrow.open(base + "/flows/" + uuid, gantt=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 760, (name, width)
            # Axis labels and bar labels end inside the chart, never cut at its right edge.
            overflow = page.evaluate(
                """() => Array.from(document.querySelectorAll(
                    '#chart .gantt-axis text, #chart text.barlabel')).filter(t => {
                      const box = t.getBBox(), svg = t.ownerSVGElement;
                      return box.width > 0 && box.x + box.width > svg.width.baseVal.value;
                    }).map(t => t.textContent)"""
            )
            assert overflow == [], (name, overflow)
            assert int(page.get_attribute("#chart", "data-ticks") or 0) >= 3
            if name == "200":  # names cut in the middle: the part that differs stays
                labels = page.evaluate(
                    "() => Array.from(document.querySelectorAll('#chart text.name'),"
                    " t => t.firstChild.nodeValue)"  # its <title> holds the full name
                )
                assert len(set(labels)) == 200 and labels[3].endswith("003-of-200")
            narrow.shot(out / ("flow-%s-760.png" % name))
        failed = page.locator('#chart g.bar[data-atom="book-courier"] rect.phase-running')
        failed.hover()
        tip = page.locator("#tip")
        tip_box = tip.bounding_box()
        assert (
            tip_box is not None and "failed: recorder.demo.CourierUnavailable" in tip.inner_text()
        )
        assert tip_box["x"] >= 0 and tip_box["x"] + tip_box["width"] <= 760
        narrow.shot(out / "tooltip-760.png")
        narrow.close()

        for watched in (w, narrow):
            assert watched.outside == []
            assert watched.errors == []
            assert all(urlsplit(u).hostname == "127.0.0.1" for u in watched.requests)
            assert any(u.endswith("/assets/gantt.js") for u in watched.requests)
    print("screenshots in %s" % out)


def test_the_policy_blocks_a_request_to_elsewhere(sqlite_url: str, browser: Browser) -> None:
    """Control: the console check above would see a page reaching out."""
    uuid = record_demo(sqlite_url, speed=200)
    with served(sqlite_url) as base:
        w = Watched(browser, 1000)
        page = w.open(base + "/flows/" + uuid, gantt=True)
        page.evaluate(
            "() => { const i = document.createElement('img');"
            " i.src = 'http://example.com/x.png'; document.body.appendChild(i); }"
        )
        page.wait_for_timeout(300)
        blocked = [e for e in w.errors if "example.com" in e]
        assert blocked and "Content Security Policy" in blocked[0]
        assert w.outside == []  # blocked by the page's policy before any request left
        w.close()


def test_serve_refuses_a_database_without_schema(sqlite_empty_url: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "recorder.cli", "--db", sqlite_empty_url, "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr
