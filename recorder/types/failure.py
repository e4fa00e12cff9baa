"""TaskFlow's ``taskflow.types.failure`` path; the code lives in :mod:`recorder.failure`."""

from recorder.failure import Failure

__all__ = ["Failure"]
