"""Notifier: tell registered callbacks about events (state changes, progress).

Callbacks are called as ``callback(event_type, *args, details=<copy>, **kwargs)``
(a details filter is asked first, on the event's own details, and must not change them);
callbacks registered for :data:`ANY` hear every event, before the event's own
callbacks, each group in registration order. Registration is thread-safe;
``notify`` calls a snapshot of the callbacks, so a callback may (de)register
others without deadlock.

A callback that raises never stops the caller. Unlike TaskFlow, which only logs
such an error, the notifier also counts it and keeps the most recent ones in
:attr:`Notifier.listener_failures`, because a listener that records an audit
trail and silently fails leaves a gap nobody sees.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from recorder.compiled import mypyc_attr
from recorder.exceptions import (
    DuplicateRegistration,
    InvalidArgument,
    InvalidCallback,
    ReservedKey,
)
from recorder.failure import Failure
from recorder.notifier_routes import Route

LOG = logging.getLogger(__name__)

ANY = "*"
"""Register for this event type to hear every event."""

Callback = Callable[..., Any]
DetailsFilter = Callable[[dict[str, Any]], Any]


@mypyc_attr(native_class=False)
@dataclass(frozen=True)
class ListenerFailure:
    """One callback error: which event, which callback, what it raised, when (unix time)."""

    event_type: str
    callback: Callback
    failure: Failure
    at: float


class Listener:
    """One registration: a callback, its extra args and kwargs and an optional filter."""

    __slots__ = ("_args", "_callback", "_details_filter", "_kwargs")

    def __init__(
        self,
        callback: Callback,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        details_filter: DetailsFilter | None = None,
    ) -> None:
        self._callback = callback
        self._args = tuple(args or ())
        self._kwargs = dict(kwargs or {})
        self._details_filter = details_filter

    @property
    def callback(self) -> Callback:
        return self._callback

    @property
    def details_filter(self) -> DetailsFilter | None:
        return self._details_filter

    @property
    def args(self) -> tuple[Any, ...]:
        return self._args

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self._kwargs)

    def __call__(self, event_type: str, details: dict[str, Any]) -> None:
        if self._details_filter is not None and not self._details_filter(details):
            return
        self._callback(event_type, *self._args, details=details, **self._kwargs)

    def deliver(self, event_type: str, details: Mapping[str, Any]) -> None:
        """Call the callback with its own copy of ``details`` if the filter passes.

        The filter is asked first, on the shared details (it must not change
        them), so an event the filter rejects costs no copy: listeners register a
        task and a retry receiver each, and every atom event is for one of them.
        """
        if self._details_filter is not None and not self._details_filter(details):  # type: ignore[arg-type]
            return
        self.deliver_passed(event_type, details)

    def deliver_passed(self, event_type: str, details: Mapping[str, Any]) -> None:
        """:meth:`deliver` once the filter is known to pass."""
        if self._args or self._kwargs:
            self._callback(event_type, *self._args, details=dict(details), **self._kwargs)
        else:
            self._callback(event_type, details=dict(details))

    def is_equivalent(
        self, callback: Callback, details_filter: DetailsFilter | None = None
    ) -> bool:
        """Same callback and same filter (bound methods of one object compare equal)."""
        return bool(self._callback == callback) and bool(self._details_filter == details_filter)

    def __repr__(self) -> str:
        return "Listener(%r)" % (self._callback,)


@mypyc_attr(allow_interpreted_subclasses=True)
class Notifier:
    """Registry of callbacks per event type, and the ``notify`` that calls them."""

    ANY: ClassVar[str] = ANY
    RESERVED_KEYS: ClassVar[tuple[str, ...]] = ("details",)
    MAX_KEPT_FAILURES: ClassVar[int] = 100

    def __init__(self) -> None:
        self._topics: dict[str, list[Listener]] = collections.defaultdict(list)
        # event type -> who hears it (ANY's first) and of what kind, built on first
        # notify and dropped by every (de)registration: notify runs per state change.
        self._heard_by: dict[str, Route] = {}
        self._count = 0  # registrations, kept so len() is cheap on hot paths
        self._lock = threading.RLock()
        self._failure_lock = threading.Lock()
        self.failure_count = 0
        self.listener_failures: collections.deque[ListenerFailure] = collections.deque(
            maxlen=self.MAX_KEPT_FAILURES
        )

    def __len__(self) -> int:
        """Number of registrations, over all event types (cheap: kept as a count)."""
        return self._count

    def has_listeners(self) -> bool:
        """Whether anything is registered at all (a cheap check for hot paths)."""
        return bool(self._topics)

    def is_registered(
        self, event_type: str, callback: Callback, details_filter: DetailsFilter | None = None
    ) -> bool:
        with self._lock:
            return any(
                listener.is_equivalent(callback, details_filter)
                for listener in self._topics.get(event_type, ())
            )

    def can_be_registered(self, event_type: str) -> bool:
        """Whether callbacks may be registered for ``event_type`` (always, here)."""
        return True

    def can_trigger_notification(self, event_type: str) -> bool:
        """``ANY`` is for listening only; notifying it does nothing."""
        return event_type != ANY

    def register(
        self,
        event_type: str,
        callback: Callback,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        details_filter: DetailsFilter | None = None,
    ) -> None:
        """Call ``callback`` on every ``event_type`` event (every event for ANY)."""
        if not callable(callback):
            raise InvalidCallback("event %r: callback %r is not callable" % (event_type, callback))
        if details_filter is not None and not callable(details_filter):
            raise InvalidCallback(
                "event %r: details_filter %r is not callable" % (event_type, details_filter)
            )
        if kwargs:
            for key in self.RESERVED_KEYS:
                if key in kwargs:
                    raise ReservedKey(
                        "event %r: kwargs key %r is reserved by the notifier" % (event_type, key)
                    )
        if not self.can_be_registered(event_type):
            raise InvalidArgument("event %r cannot be registered on %r" % (event_type, self))
        with self._lock:
            if self.is_registered(event_type, callback, details_filter):
                raise DuplicateRegistration(
                    "event %r: callback %r (details_filter %r) is already registered"
                    % (event_type, callback, details_filter)
                )
            self._topics[event_type].append(Listener(callback, args, kwargs, details_filter))
            self._heard_by = {}
            self._count += 1

    def deregister(
        self, event_type: str, callback: Callback, details_filter: DetailsFilter | None = None
    ) -> bool:
        """Remove one registration; True if there was one."""
        with self._lock:
            listeners = self._topics.get(event_type, [])
            for index, listener in enumerate(listeners):
                if listener.is_equivalent(callback, details_filter):
                    listeners.pop(index)
                    self._heard_by = {}
                    self._count -= 1
                    if not listeners:
                        self._topics.pop(event_type, None)
                    return True
            return False

    def deregister_event(self, event_type: str) -> int:
        """Remove every registration for ``event_type``; return how many there were."""
        with self._lock:
            removed = len(self._topics.pop(event_type, []))
            self._heard_by = {}
            self._count -= removed
            return removed

    def reset(self) -> None:
        """Remove every registration (the failure count and record stay)."""
        with self._lock:
            self._topics.clear()
            self._heard_by = {}
            self._count = 0

    def listeners_iter(self) -> Iterator[tuple[str, list[Listener]]]:
        """Yield ``(event_type, listeners)`` for every event type with registrations."""
        with self._lock:
            snapshot = [(event, list(listeners)) for event, listeners in self._topics.items()]
        yield from snapshot

    def copy(self) -> Notifier:
        """A new notifier with the same registrations (and none of the failure record)."""
        clone = self._empty_copy()
        with self._lock:
            for event_type, listeners in self._topics.items():
                clone._topics[event_type] = list(listeners)
            clone._heard_by = {}
            clone._count = self._count
        return clone

    def _empty_copy(self) -> Notifier:
        return Notifier()

    def _route_for(self, event_type: str) -> Route:
        heard_by = self._heard_by
        found = heard_by.get(event_type)
        if found is not None:
            return found
        with self._lock:
            found = Route((*self._topics.get(ANY, ()), *self._topics.get(event_type, ())))
            if heard_by is self._heard_by:  # no (de)registration since it was read
                heard_by[event_type] = found
            return found

    def notify(self, event_type: str, details: Mapping[str, Any]) -> None:
        """Call every callback for ``event_type`` (ANY's first) with a copy of ``details``.

        Policy: a callback (or details filter) that raises does not stop the others
        or the caller. The error is logged at WARNING, counted in
        :attr:`failure_count` and kept in :attr:`listener_failures` (the newest
        ``MAX_KEPT_FAILURES``). Notifying ``ANY`` itself does nothing.
        """
        if not self.can_trigger_notification(event_type):
            LOG.debug("event %r cannot be triggered on %r", event_type, self)
            return
        route = self._route_for(event_type)
        for deliver, listener in route.deliveries(route.answers(details) if route.checks else 0):
            try:
                deliver(event_type, details)
            except Exception:
                self._record_failure(event_type, listener.callback, Failure())

    def _record_failure(self, event_type: str, callback: Callback, failure: Failure) -> None:
        LOG.warning(
            "Failure calling listener %r for event %r",
            callback,
            event_type,
            exc_info=failure.exc_info,
        )
        with self._failure_lock:
            self.failure_count += 1
            self.listener_failures.append(
                ListenerFailure(event_type, callback, failure, time.time())
            )

    @contextlib.contextmanager
    def registered(
        self,
        event_type: str,
        callback: Callback,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        details_filter: DetailsFilter | None = None,
    ) -> Iterator[Notifier]:
        """Register ``callback`` for the block, deregister it after (even on error)."""
        self.register(event_type, callback, args=args, kwargs=kwargs, details_filter=details_filter)
        try:
            yield self
        finally:
            self.deregister(event_type, callback, details_filter=details_filter)


class RestrictedNotifier(Notifier):
    """A notifier that only accepts registrations for a fixed set of events."""

    def __init__(self, watchable_events: Iterable[str], allow_any: bool = True) -> None:
        super().__init__()
        self._watchable_events = frozenset(watchable_events)
        self._allow_any = allow_any

    def events_iter(self) -> Iterator[str]:
        """The events that can be watched (ANY is not one of them)."""
        yield from self._watchable_events

    def can_be_registered(self, event_type: str) -> bool:
        if event_type == ANY:
            return self._allow_any
        return event_type in self._watchable_events

    def _empty_copy(self) -> RestrictedNotifier:
        return RestrictedNotifier(self._watchable_events, allow_any=self._allow_any)


@contextlib.contextmanager
def register_deregister(
    notifier: Notifier,
    event_type: str,
    callback: Callback | None = None,
    args: Iterable[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    details_filter: DetailsFilter | None = None,
) -> Iterator[None]:
    """TaskFlow's helper: register for the block when a callback is given."""
    if callback is None:
        yield
        return
    with notifier.registered(event_type, callback, args, kwargs, details_filter):
        yield
