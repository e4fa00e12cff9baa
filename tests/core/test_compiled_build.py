"""The optional compiled build (recorder/compiled.py): what runs is the build asked for.

CI runs the suite twice, plain and after ``scripts/compile`` with
``RECORDER_EXPECT_COMPILED=1``: the second run must really exercise every module
``pyproject.toml`` lists, not plain Python again, and the first none of them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from recorder.compiled import is_compiled, mypyc_attr

ROOT = Path(__file__).resolve().parents[2]


def _listed_modules() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    hook = text.split("[tool.hatch.build.targets.wheel.hooks.mypyc]", 1)[1]
    block = hook.split("include = [", 1)[1].split("]", 1)[0]
    paths = re.findall(r'"([^"]+)"', block)
    return [path.removesuffix(".py").replace("/", ".") for path in paths]


def test_every_listed_module_runs_in_the_build_asked_for() -> None:
    expected = os.environ.get("RECORDER_EXPECT_COMPILED") == "1"
    modules = _listed_modules()
    assert "recorder.storage_writes" in modules  # what is_compiled() looks at
    wrong = [name for name in modules if is_compiled(name) is not expected]
    assert not wrong, "expected the %s build (%s): %s" % (
        "compiled" if expected else "plain",
        "scripts/compile" if expected else "scripts/compile --clean, or RECORDER_EXPECT_COMPILED=1",
        wrong,
    )
    assert is_compiled() is expected


def test_every_listed_module_exists_and_nothing_else_is_compiled() -> None:
    listed = {ROOT / (name.replace(".", "/") + ".py") for name in _listed_modules()}
    assert all(path.is_file() for path in listed)
    compiled = {
        path.with_name(path.name.split(".")[0] + ".py")
        for path in (ROOT / "recorder").rglob("*.so")
    }
    assert compiled <= listed


def test_the_marks_change_nothing_in_plain_python() -> None:
    @mypyc_attr(native_class=False)
    class Marked:
        pass

    assert Marked.__name__ == "Marked" and isinstance(Marked(), Marked)
