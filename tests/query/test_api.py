"""The public names of recorder.query: lazy, and never shadowed by a submodule."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types


def test_every_public_name_is_the_object_not_a_module() -> None:
    import recorder.query as query

    for module in ("critical_path", "failures", "load", "reads", "stats", "timeline", "when"):
        importlib.import_module("recorder.query." + module)  # what the CLI imports first
    for name in query.__all__:
        assert not isinstance(getattr(query, name), types.ModuleType), name


def test_the_cli_starts_without_loading_the_query_layer() -> None:
    code = (
        "import sys, recorder.cli; "
        "print(sorted(m for m in sys.modules if m.startswith(('recorder.query.reads', "
        "'recorder.render', 'sqlalchemy.orm'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
