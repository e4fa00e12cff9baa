"""Build the compiled modules in place: ``scripts/compile`` runs this (see recorder/compiled.py).

The modules and mypyc's options are those of the wheel's mypyc hook in
pyproject.toml, so a development tree and a compiled wheel compile the same.
"""

from __future__ import annotations

from pathlib import Path

import tomllib
from mypyc.build import mypycify
from setuptools import setup

ROOT = Path(__file__).resolve().parent.parent
HOOK = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"][
    "wheel"
]["hooks"]["mypyc"]

setup(
    name="flow-recorder-compiled",
    packages=[],
    py_modules=[],
    ext_modules=mypycify(list(HOOK["include"]), opt_level=HOOK["options"]["opt_level"]),
)
