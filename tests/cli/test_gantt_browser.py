"""The Gantt page in a real browser (headless Chromium): bars drawn, nothing fetched.

Chromium comes from the Debian package; when it is missing the test installs
it with apt-get (as root), else skips -- or fails when RECORDER_REQUIRE_BROWSER=1.
The screenshot is kept in test-artifacts/gantt.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from recorder.cli import main
from tests.query.runs import record_demo

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REQUIRE = os.environ.get("RECORDER_REQUIRE_BROWSER") == "1"


def _find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _find_chromium()
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=600, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], env=env, timeout=900, check=False
        )
        found = _find_chromium()
    if found is None:
        reason = "no chromium (Debian package 'chromium') and it could not be installed"
        if REQUIRE:
            pytest.fail("RECORDER_REQUIRE_BROWSER=1 but " + reason, pytrace=False)
        pytest.skip(reason)
    return found


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--user-data-dir=%s" % profile,
        "--window-size=1280,900",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console(stderr: str) -> list[str]:
    """What the page logged: errors, CSP violations (blocked requests), anything."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
def page(sqlite_url: str, tmp_path: Path) -> tuple[Path, dict[str, object]]:
    uuid = record_demo(sqlite_url)
    out = tmp_path / "gantt.html"
    runner = CliRunner()
    result = runner.invoke(
        main, ["--db", sqlite_url, "timeline", uuid, "--format", "html", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(
        runner.invoke(main, ["--db", sqlite_url, "timeline", uuid, "--format", "json"]).stdout
    )
    return out, data


def test_the_page_draws_one_bar_per_attempt_and_fetches_nothing(
    chromium: str, page: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    path, data = page
    atoms = data["atoms"]
    assert isinstance(atoms, list)
    attempts = [(a["name"], x["attempt"]) for a in atoms for x in a["attempts"]]
    phases = sum(len(x["phases"]) for a in atoms for x in a["attempts"])

    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom", path.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console(dom.stderr) == []  # no script error, no blocked request
    html = dom.stdout
    assert 'data-rendered="yes"' in html and 'data-bars="%d"' % len(attempts) in html
    bars = re.findall(r'<g class="bar" data-atom="([^"]+)" data-attempt="(\d+)"', html)
    assert [(name, int(n)) for name, n in bars] == attempts
    assert len(re.findall(r'<rect class="phase phase-', html)) == phases
    assert re.search(r'class="phase phase-running o-FAILURE[^"]*"', html)
    assert re.search(r'class="phase phase-waiting[^"]*"', html)
    assert re.search(r'class="phase phase-reverting[^"]*"', html)
    critical = data["critical_path"]
    assert isinstance(critical, dict)
    assert len(re.findall(r'class="phase [^"]* critical"', html)) == len(critical["steps"])
    assert "<title>" in html  # hover text on every bar

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "gantt.png"
    shot.unlink(missing_ok=True)
    taken = run_chromium(chromium, tmp_path / "profile2", "--screenshot=%s" % shot, path.as_uri())
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_page_has_no_urls_and_its_policy_blocks_any(
    chromium: str, page: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    path, _ = page
    content = path.read_text("utf-8")
    assert set(re.findall(r"https?://[^\s\"'<>\\]+", content)) == {"http://www.w3.org/2000/svg"}
    assert re.search(
        r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'", content
    )
    # Control: the same page with a remote image must show the browser blocking it,
    # which proves the console check above would see a request leaving the page.
    control = tmp_path / "control.html"
    control.write_text(content.replace("<body>", '<body><img src="https://example.com/x.png">'))
    result = run_chromium(chromium, tmp_path / "profile3", "--dump-dom", control.as_uri())
    blocked = [line for line in console(result.stderr) if "example.com" in line]
    assert blocked and "Content Security Policy" in blocked[0]
