"""TaskFlow is imported here once, before the tests: importing ``taskflow.engines``
imports ``oslo_utils.eventletutils``, which warns that it is deprecated (TaskFlow's
concern, not recorder's), and the suite turns warnings into errors."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="eventletutils module is deprecated", category=DeprecationWarning
    )
    import taskflow.engines  # noqa: F401
