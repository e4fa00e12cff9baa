"""Bridges to software recorder does not run itself (see :mod:`recorder.integrations.taskflow`)."""
