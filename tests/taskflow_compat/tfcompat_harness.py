"""Copy TaskFlow's own unit tests and rewrite their imports to run against recorder.

Nothing here is a TaskFlow test: the files are copied from the installed
``taskflow`` package on every run, so the suite always checks the TaskFlow
release the ``taskflow`` extra pins, and no TaskFlow code is kept in this repo.

Rewriting touches import statements and dotted ``'taskflow.…'`` string literals
(``mock.patch`` targets) only:

* ``taskflow.test`` and ``taskflow.tests.{utils,fixtures}`` (TaskFlow's test
  helpers) become ``<pkg>.helpers.*``; ``taskflow.tests.unit.*`` becomes
  ``<pkg>.unit.*``. The helpers are copied and rewritten the same way.
* modules of features that are out of scope (worker-based engines, job boards
  and claims, ZooKeeper/Redis/etcd clients, eventlet, ``taskflow.utils`` tooling)
  become :class:`OutOfScope` stand-ins: any use skips the test that made it.
* every other ``taskflow`` import gets the root ``recorder``.

Two trees are built: ``tfcompat`` (root ``recorder``, the one that runs) and
``tfref`` (root kept as ``taskflow``, never run): the harness imports a module
of ``tfref`` only to list the test ids of a ``tfcompat`` module that cannot be
imported, so such a module still counts each of its tests as a failure.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUILD = HERE / "_generated"  # gitignored; rebuilt at every run
EXPECTED = HERE / "expected_failures.txt"
COMPAT_PKG = "tfcompat"
REFERENCE_PKG = "tfref"

# Test files under taskflow/tests/unit/ that are in scope.
IN_SCOPE = [
    *(
        f"test_{name}.py"
        for name in (
            "arguments_passing",
            "check_transition",
            "deciders",
            "engine_helpers",
            "engines",
            "exceptions",
            "failure",
            "flow_dependencies",
            "formatters",
            "functor_task",
            "listeners",
            "mapfunctor_task",
            "notifier",
            "progress",
            "reducefunctor_task",
            "retries",
            "states",
            "storage",
            "suspend",
            "task",
        )
    ),
    "patterns/test_graph_flow.py",
    "patterns/test_linear_flow.py",
    "patterns/test_unordered_flow.py",
]
# Copied but not collected: the connection-API mixin (run by test_persistence_backends.py)
# and the job-board mixin (run on recorder's SQL board by test_jobboards.py).
SUPPORT_FILES = ["persistence/base.py", "jobs/base.py"]

# Classes of test_persistence_backends.py (the mixin on each recorder backend).
PERSISTENCE_CLASSES = ("MemoryConnectionTest", "SqliteConnectionTest", "PostgresConnectionTest")

# Test classes of in-scope files that exercise out-of-scope features: not collected.
OUT_OF_SCOPE_CLASSES = {
    "WorkerBasedEngineTest": "worker-based engines",
    "ParallelEngineWithEventletTest": "eventlet",
    # Its ZooKeeper set-up; test_jobboards.py runs its tests on recorder's SQL board.
    "TestClaimListener": "job boards on ZooKeeper",
}

# Module prefixes replaced by OutOfScope stand-ins.
OUT_OF_SCOPE_MODULES = (
    "taskflow.engines.action_engine.executor",  # action-engine internals (used by eventlet tests)
    "taskflow.types.graph",  # taskflow.types internals
    "taskflow.engines.worker_based",
    "taskflow.jobs",  # TaskFlow's ZooKeeper/Redis/etcd boards (recorder's SQL board is
    # recorder.jobs; test_jobboards.py runs the board tests on it)
    "taskflow.persistence.backends.impl_dir",  # directory persistence (the job mixin's
    # test_posting_with_book gets recorder's SQL persistence instead, in test_jobboards.py)
    "taskflow.utils.eventlet_utils",
    "taskflow.utils.kazoo_utils",
    "taskflow.utils.redis_utils",
    "taskflow.utils.threading_utils",
    "taskflow.utils.misc",
    "etcd3gw",
    "redis",
)

_HELPER_SOURCES = {
    "test.py": "test.py",
    "tests/utils.py": "utils.py",
    "tests/fixtures.py": "fixtures.py",
}

_FROM = re.compile(r"^(?P<indent>\s*)from (?P<mod>[\w.]+) import (?P<names>.*)$")
_IMPORT = re.compile(r"^(?P<indent>\s*)import (?P<mod>[\w.]+)(?: as (?P<alias>\w+))?\s*$")
_STRING = re.compile(r"""(?P<q>['"])taskflow\.""")

_OUT_OF_SCOPE_PY = '''"""Stand-ins for modules of features the compatibility suite leaves out."""

import unittest


class OutOfScope:
    """Any attribute is another stand-in; calling one skips the test; false in tests."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return OutOfScope(self._name + "." + attr)

    def __call__(self, *args, **kwargs):
        raise unittest.SkipTest("out of scope: " + self._name)

    def __bool__(self):
        return False
'''

_UTILS_TAIL = """

# Appended by the compatibility harness: these services are out of scope.
def zookeeper_available(*args, **kwargs):
    return False


def redis_available(*args, **kwargs):
    return False


def etcd_available(*args, **kwargs):
    return False
"""


def taskflow_root() -> Path:
    """The installed TaskFlow package directory (the ``taskflow`` extra)."""
    import taskflow

    return Path(taskflow.__file__).resolve().parent


def _out_of_scope(mod: str) -> bool:
    return any(mod == p or mod.startswith(p + ".") for p in OUT_OF_SCOPE_MODULES)


def _map_module(mod: str, pkg: str, root: str) -> str:
    """The module ``mod`` is imported from in the tree ``pkg`` (not for out-of-scope ones)."""
    if mod == "taskflow.test" or mod.startswith("taskflow.test."):
        return pkg + ".helpers.test" + mod[len("taskflow.test") :]
    if mod.startswith("taskflow.tests.unit"):
        return pkg + ".unit" + mod[len("taskflow.tests.unit") :]
    if mod in ("taskflow.tests", "taskflow.tests.utils", "taskflow.tests.fixtures"):
        return pkg + ".helpers" + mod[len("taskflow.tests") :]
    if mod == "taskflow" or mod.startswith("taskflow."):
        return root + mod[len("taskflow") :]
    return mod


def rewrite(source: str, pkg: str, root: str) -> str:
    """``source`` with its TaskFlow imports pointed at ``pkg``'s helpers and ``root``.

    Line numbers are kept (a rewritten import stays on one line) so tracebacks
    point at the same lines as in TaskFlow's file.
    """
    out = []
    stub = f"from {pkg}.helpers.out_of_scope import OutOfScope as _OutOfScope; "
    for line in source.splitlines():
        m = _FROM.match(line)
        if m and "(" not in m["names"]:
            mod, names = m["mod"], m["names"].split("#")[0].strip()
            parts = [n.strip().partition(" as ")[0] for n in names.split(",")]
            if _out_of_scope(mod) or all(_out_of_scope(f"{mod}.{n}") for n in parts):
                binds = []
                for part in names.split(","):
                    name, _, alias = part.strip().partition(" as ")
                    binds.append(f"{alias or name} = _OutOfScope({mod + '.' + name!r})")
                line = m["indent"] + stub + "; ".join(binds)
            elif mod == "taskflow" and names == "test":
                line = f"{m['indent']}from {pkg}.helpers import test"
            else:
                line = f"{m['indent']}from {_map_module(mod, pkg, root)} import {m['names']}"
        elif m:
            line = f"{m['indent']}from {_map_module(m['mod'], pkg, root)} import {m['names']}"
        elif (m := _IMPORT.match(line)) is not None:
            mod, alias = m["mod"], m["alias"]
            if _out_of_scope(mod):
                line = m["indent"] + stub + f"{alias or mod} = _OutOfScope({mod!r})"
            elif mod.startswith("taskflow") and root != "taskflow":
                new = _map_module(mod, pkg, root)
                if alias:
                    line = f"{m['indent']}import {new} as {alias}"
                else:  # code goes on to use the name ``taskflow``
                    line = f"{m['indent']}import {new}; import {root} as taskflow"
        line = _STRING.sub(lambda s: s["q"] + root + ".", line) if root != "taskflow" else line
        out.append(line)
    return "\n".join(out) + "\n"


def _write(path: Path, text: str) -> None:
    """Write atomically: concurrent runs may build the same tree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def build(dest: Path = BUILD) -> None:
    """Copy and rewrite the in-scope files and helpers into ``dest/{tfcompat,tfref}``."""
    src = taskflow_root()
    for pkg, root in ((COMPAT_PKG, "recorder"), (REFERENCE_PKG, "taskflow")):
        base = dest / pkg
        for init in ("", "helpers", "unit", "unit/patterns", "unit/persistence", "unit/jobs"):
            _write(base / init / "__init__.py", "")
        _write(base / "helpers" / "out_of_scope.py", _OUT_OF_SCOPE_PY)
        for rel, name in _HELPER_SOURCES.items():
            text = rewrite((src / rel).read_text(), pkg, root)
            _write(base / "helpers" / name, text + (_UTILS_TAIL if name == "utils.py" else ""))
        for rel in IN_SCOPE + SUPPORT_FILES:
            text = rewrite((src / "tests" / "unit" / rel).read_text(), pkg, root)
            _write(base / "unit" / rel, text)


@dataclass(frozen=True)
class Expected:
    """One entry of expected_failures.txt."""

    reason: str
    strict: bool


def load_expected(path: Path = EXPECTED) -> dict[str, Expected]:
    """``test id -> Expected``; lines are ``ID  # reason``; ``#`` lines and blanks are comments.

    A reason starting with ``timing-sensitive`` makes a non-strict xfail.
    """
    entries: dict[str, Expected] = {}
    if not path.exists():
        return entries
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition("#")
        reason = reason.strip() or "expected to fail"
        entries[test_id.strip()] = Expected(reason, not reason.startswith("timing-sensitive"))
    return entries


def short_id(nodeid: str) -> str | None:
    """``test_engines.py::Class::test`` for a node of the compat tree, else None."""
    marker = f"_generated/{COMPAT_PKG}/unit/"
    if marker in nodeid:
        return nodeid.split(marker, 1)[1]
    local = "taskflow_compat/"
    if local in nodeid and "_generated" not in nodeid:
        return nodeid.split(local, 1)[1]
    return None
