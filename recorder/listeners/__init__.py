"""Listeners: objects that attach to an engine's notifiers and act on state changes.

The module layout mirrors ``taskflow.listeners`` (``base``, ``printing``,
``logging``, ``timing``, ``capturing``) so TaskFlow code ports by changing the
import root; ``recording`` adds the persistent, hash-chained transition trail.
"""
