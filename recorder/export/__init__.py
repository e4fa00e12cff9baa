"""Stored timelines in other tools' formats (see :mod:`recorder.export.otel`)."""
