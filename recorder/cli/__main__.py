"""``python -m recorder.cli``: the same as the ``recorder`` command."""

from __future__ import annotations

from recorder.cli import main

if __name__ == "__main__":
    main()
