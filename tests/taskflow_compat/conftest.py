"""Collect TaskFlow's own unit tests, copied and rewritten at run time, against recorder.

See ``docs/taskflow-compat.md``. Each run rebuilds ``_generated/`` from the
installed ``taskflow`` package; ``expected_failures.txt`` lists the tests that
fail today (strict xfail, so it can only shrink); a module that cannot be
imported still yields one failing item per test id, listed from the same file
run against TaskFlow itself.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
import unittest
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tfcompat_harness as harness

harness.build()
if str(harness.BUILD) not in sys.path:
    sys.path.insert(0, str(harness.BUILD))

_EXPECTED = harness.load_expected()
_outcomes: dict[str, str] = {}
_messages: dict[str, str] = {}
_deselected: Counter[str] = Counter()
_compat_unit = harness.BUILD / harness.COMPAT_PKG / "unit"
_local_persistence = harness.HERE / "test_persistence_backends.py"


def _is_compat_file(path: Path) -> bool:
    return path == _local_persistence or (
        path.suffix == ".py" and path.name.startswith("test_") and path.is_relative_to(_compat_unit)
    )


def _reference_ids(path: Path) -> list[str]:
    """``Class::test`` ids of the same file in the TaskFlow tree (``tfref``)."""
    if path == _local_persistence:
        mixin = importlib.import_module(harness.REFERENCE_PKG + ".unit.persistence.base")
        names = unittest.TestLoader().getTestCaseNames(mixin.PersistenceTestMixin)
        return [f"{c}::{t}" for c in harness.PERSISTENCE_CLASSES for t in names]
    rel = path.relative_to(_compat_unit).with_suffix("")
    module = importlib.import_module(".".join((harness.REFERENCE_PKG, "unit", *rel.parts)))
    ids: list[str] = []
    for name, obj in sorted(vars(module).items()):
        if isinstance(obj, type) and issubclass(obj, unittest.TestCase):
            if obj.__module__ != module.__name__:
                continue
            if name in harness.OUT_OF_SCOPE_CLASSES:
                count = len(unittest.TestLoader().getTestCaseNames(obj))
                _deselected[harness.OUT_OF_SCOPE_CLASSES[name]] += count
                continue
            ids.extend(f"{name}::{t}" for t in unittest.TestLoader().getTestCaseNames(obj))
    return ids


class ImportFailed(pytest.Item):
    """One test of a module that cannot be imported against recorder."""

    def __init__(self, *, error: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise ImportError(self.error)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        return "module does not import against recorder:\n" + self.error

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, self.name


class CompatModule(pytest.Module):
    """A copied TaskFlow test module; falls back to ImportFailed items."""

    def collect(self) -> Any:
        try:
            return list(super().collect())
        except Exception:  # ImportError, or e.g. an AttributeError at class definition
            error = traceback.format_exc(limit=-3)
        last = error.strip().splitlines()[-1]
        return [
            ImportFailed.from_parent(self, name=i, error=last) for i in _reference_ids(self.path)
        ]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The TaskFlow tree (``tfref``) is only imported to list ids, never run."""
    if collection_path == harness.BUILD / harness.REFERENCE_PKG:
        return True
    return None


def pytest_pycollect_makemodule(module_path: Path, parent: Any) -> Any:
    """Collect the copied files (and the local persistence module) as CompatModules."""
    if _is_compat_file(module_path):
        return CompatModule.from_parent(parent, path=module_path)
    return None


def _class_of(sid: str) -> str:
    parts = sid.split("::")
    return parts[1] if len(parts) > 2 else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, dropped = [], []
    for item in items:
        sid = harness.short_id(item.nodeid)
        if sid is None:
            keep.append(item)
            continue
        cls = _class_of(sid)
        if cls in harness.OUT_OF_SCOPE_CLASSES:
            dropped.append(item)
            _deselected[harness.OUT_OF_SCOPE_CLASSES[cls]] += 1
            continue
        expected = _EXPECTED.get(sid)
        if expected is not None:
            item.add_marker(pytest.mark.xfail(reason=expected.reason, strict=expected.strict))
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    sid = harness.short_id(report.nodeid)
    if sid is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        elif report.failed and report.longreprtext.startswith("[XPASS(strict)]"):
            outcome = "xpassed"  # listed as expected to fail, but passes now
        else:
            outcome = report.outcome
        _outcomes[sid] = outcome
        if report.failed or hasattr(report, "wasxfail"):
            text = report.longreprtext.strip().splitlines()
            _messages[sid] = text[-1][:200] if text else ""
    elif report.when == "teardown" and report.failed:
        _outcomes[sid] = "failed"


def _file_of(sid: str) -> str:
    return sid.split("::", 1)[0]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _outcomes:
        return
    per_file: dict[str, Counter[str]] = defaultdict(Counter)
    for sid, outcome in _outcomes.items():
        per_file[_file_of(sid)][outcome] += 1
    total: Counter[str] = sum(per_file.values(), Counter())
    write = terminalreporter.write_line
    terminalreporter.section("taskflow compat")
    for name in sorted(per_file):
        c = per_file[name]
        n = c["passed"] + c["xfailed"] + c["failed"] + c["xpassed"]
        extra = "".join(f", {c[k]} {k}" for k in ("failed", "xpassed", "skipped") if c[k])
        write(f"  {name}: {c['passed']}/{n} passed{extra}")
    in_scope = total["passed"] + total["xfailed"] + total["failed"] + total["xpassed"]
    stale = sorted(
        set(_EXPECTED) - set(_outcomes)
        if all(_file_of(s) in per_file for s in _EXPECTED)
        else set()
    )
    for sid in stale:
        write(f"  stale entry in expected_failures.txt (no such test): {sid}")
    out_of_scope = sum(_deselected.values()) + total["skipped"]
    write(
        f"taskflow compat: {total['passed']} passed, {total['xfailed']} expected failures"
        f" (of {in_scope} in scope)"
        + (
            f"; {total['failed']} failed, {total['xpassed']} unexpectedly passed"
            if total["failed"] or total["xpassed"]
            else ""
        )
        + f"; {out_of_scope} out of scope (skipped or not collected)"
    )
    results = os.environ.get("TFCOMPAT_RESULTS")
    if results:
        Path(results).write_text(
            json.dumps({"outcomes": _outcomes, "messages": _messages}, indent=1, sort_keys=True)
        )
