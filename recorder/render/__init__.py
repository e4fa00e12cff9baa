"""Renderers: text tables (80 columns), CSV, JSON and the self-contained Gantt page.

They take what :mod:`recorder.query` returns and produce strings; none of them
reads a database or writes a file.
"""
