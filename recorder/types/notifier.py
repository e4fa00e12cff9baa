"""TaskFlow's ``taskflow.types.notifier`` path; the code lives in :mod:`recorder.notifier`."""

from recorder.notifier import (
    ANY,
    LOG,
    Listener,
    Notifier,
    RestrictedNotifier,
    register_deregister,
)

__all__ = ["ANY", "LOG", "Listener", "Notifier", "RestrictedNotifier", "register_deregister"]
