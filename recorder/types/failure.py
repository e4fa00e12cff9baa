"""TaskFlow's ``taskflow.types.failure`` path; the code lives in :mod:`recorder.failure`."""

from recorder.failure import Failure
from recorder.failure_parts import copy_exc_info as _copy_exc_info
from recorder.failure_parts import equal_exc_info as _are_equal_exc_info_tuples

__all__ = ["Failure", "_are_equal_exc_info_tuples", "_copy_exc_info"]
