"""Every error recorder raises on purpose is a :class:`RecorderError`.

Catch ``RecorderError`` to catch them all; the CLI turns any into one line and
a documented exit code. Errors TaskFlow raises as ``ValueError`` or ``KeyError``
derive from those too, so TaskFlow code keeps working after the import change;
no built-in exception is raised on purpose (``tests/test_error_boundary.py``).

A lower layer's failure (driver, alembic, a file) is chained as ``__cause__``;
errors carry what they are about as attributes (``SchemaMismatch.current``,
``WriteFailed.unstored_ops``, ``InvalidState.old``, ...): code need not parse messages.

The tree::

    RecorderError
    ├── InvalidArgument (ValueError)          bad constructor / call arguments
    │   ├── InvalidType (TypeError)           an argument of the wrong type
    │   ├── InvalidCallback                   callback or details_filter not callable
    │   ├── DuplicateRegistration             same (callback, filter) registered twice
    │   └── ReservedKey (KeyError)            kwargs use a reserved key ('details')
    ├── ExecutionFailure                      running a flow went wrong (TaskFlow's name)
    │   ├── InvalidState                      a transition the state tables forbid
    │   └── EngineError
    │       └── AlreadyRunning                run() while the engine is running
    ├── InvariantViolation                    an internal invariant broke (bug, edited rows)
    ├── InstallationError                     recorder's own files are missing or inconsistent
    │   └── MissingExtra                      an optional part's extra is not installed
    ├── FlowDefinitionError                   the flow cannot be compiled
    │   ├── DuplicateName (ValueError)        two atoms (or flows) share a name
    │   └── DependencyFailure                 requirements and provisions do not fit
    │       ├── AmbiguousDependency           several providers for one requirement
    │       ├── MissingDependencies           an atom requires a symbol nobody provides
    │       └── DependencyCycle               graph flow edges form a cycle
    ├── InvalidFormat (ValueError)            data (e.g. a stored failure) has the wrong shape
    ├── NotFound (KeyError)                   fetch of an unknown symbol / atom
    │   └── NoSuchRun (IndexError)            a run number a timeline does not have
    ├── DisallowedAccess                      an atom's result asked for in a state without one
    ├── WrappedFailure                        several failures at once
    ├── JobFailure                            a job board operation failed (not the owner, ...)
    │   ├── UnclaimableJob                    the job is claimed by a live owner, or gone
    │   └── ClaimLost                         a worker's claim is no longer its own
    ├── StorageError                          the recording path failed
    │   ├── DatabaseUnavailable               cannot connect / connection lost for good
    │   ├── SchemaMismatch                    schema older or newer than this code
    │   └── WriteFailed                       a write could not be committed
    ├── LookupFailed                          query/CLI: unknown or ambiguous flow id
    │   ├── FlowNotFound
    │   └── AmbiguousFlow
    └── OutputFailed                          CLI: cannot write the file it was asked to
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from recorder import error_chain

if TYPE_CHECKING:
    from recorder.failure import Failure


class RecorderError(Exception):
    """Base class of every error recorder raises on purpose.

    As TaskFlow's ``TaskFlowException`` it takes a ``cause=`` (kept as
    ``.cause``); ``pformat()`` shows the causes indented, one per line, while
    ``str()`` stays one line: the message, then ``; caused by ...`` for each
    cause given this way.
    """

    def __init__(self, *args: Any, cause: BaseException | None = None) -> None:
        super().__init__(*args)
        self._cause = cause

    @property
    def cause(self) -> BaseException | None:
        return getattr(self, "_cause", None)

    def __str__(self) -> str:
        if self.cause is None:
            return Exception.__str__(self)
        return error_chain.one_line(self, RecorderError)

    def pformat(
        self, indent: int = 2, indent_text: str = " ", show_root_class: bool = False
    ) -> str:
        """The message and each cause below it, ``indent`` more per level (TaskFlow's)."""
        if indent < 0:
            raise InvalidArgument(
                "Provided 'indent' must be greater than or equal to zero instead of %s" % indent
            )
        return error_chain.indented(self, RecorderError, indent, indent_text, show_root_class)


def raise_with_cause(
    exc_cls: type[RecorderError], message: str, *args: Any, **kwargs: Any
) -> NoReturn:
    """Raise ``exc_cls(message, *args, **kwargs)`` with ``cause=`` (default: the
    exception being handled) as both ``.cause`` and ``__cause__``."""
    if not (isinstance(exc_cls, type) and issubclass(exc_cls, RecorderError)):
        raise InvalidArgument("Subclass of taskflow exception is required")
    cause = kwargs.pop("cause") if "cause" in kwargs else sys.exc_info()[1]
    error = exc_cls(message, *args, **kwargs)
    error._cause = cause
    raise error from cause


class InvalidArgument(RecorderError, ValueError):
    """An argument has the wrong type or value."""


class InvalidType(InvalidArgument, TypeError):
    """An argument has the wrong type (also a TypeError, where TaskFlow raises one)."""


class InvalidCallback(InvalidArgument):
    """A callback or details filter is not callable."""


class DuplicateRegistration(InvalidArgument):
    """The same (callback, details_filter) pair is already registered for an event."""


class ReservedKey(RecorderError, KeyError):
    """Callback kwargs use a key the notifier reserves for itself."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class ExecutionFailure(RecorderError):
    """Running a flow went wrong (TaskFlow's name); a task may raise it too."""


class InvalidState(ExecutionFailure):
    """A state transition that the state tables do not allow.

    ``kind`` (flow, task, retry, job), ``old`` and ``new`` name the refused move
    when the state tables refused it.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.old = old
        self.new = new


class InvariantViolation(RecorderError):
    """Something recorder relies on internally does not hold.

    A bug in recorder, or stored rows edited by hand; the message says which
    invariant broke.
    """


class InstallationError(RecorderError):
    """recorder's own files (e.g. its migration scripts) are missing or inconsistent."""


class MissingExtra(InstallationError):
    """An optional part of recorder needs packages of an extra that is not installed."""


class FlowDefinitionError(RecorderError):
    """The flow cannot be compiled into something an engine can run."""


class DuplicateName(FlowDefinitionError, ValueError):
    """Two atoms or flows in one compiled flow share a name."""


class DependencyFailure(FlowDefinitionError):
    """Atoms' requirements and provisions do not fit together (TaskFlow's name)."""


class AmbiguousDependency(DependencyFailure):
    """A requirement could be satisfied by more than one provider."""


class MissingDependencies(DependencyFailure):
    """An atom requires a symbol that neither the store nor an earlier atom provides.

    ``missing_requirements``: the symbols, sorted. As TaskFlow's, the flow's error
    has one cause per atom missing something (each the cause of the next); its
    message already names them all, so ``str()`` leaves the causes out.
    """

    def __init__(self, *args: Any, requirements: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.missing_requirements = sorted(requirements)

    def __str__(self) -> str:
        return Exception.__str__(self)


class DependencyCycle(DependencyFailure):
    """The atoms of a graph flow depend on each other in a cycle."""


class InvalidFormat(RecorderError, ValueError):
    """Data (e.g. a serialized failure) does not have the expected shape."""


class EngineError(ExecutionFailure):
    """The engine cannot do what was asked in its current state."""


class AlreadyRunning(EngineError):
    """``run()`` was called while the engine is already running."""


class NotFound(RecorderError, KeyError):
    """A symbol, atom or record that was asked for does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class JobFailure(RecorderError):
    """A job board operation could not be done (TaskFlow's ``JobFailure``)."""


class UnclaimableJob(JobFailure):
    """A claim was refused: another owner's lease is live, or the job is done."""


class ClaimLost(JobFailure):
    """The claim a worker holds was taken over or dropped; its writes are refused."""


class NoSuchRun(NotFound, IndexError):
    """A run number that the timeline does not have (``run`` and ``runs`` say which)."""

    def __init__(self, message: str, *, run: int | None = None, runs: int = 0) -> None:
        super().__init__(message)
        self.run = run
        self.runs = runs


class DisallowedAccess(RecorderError):
    """An atom's result was asked for in a state that has none (``state`` says which)."""

    def __init__(self, message: str, state: str | None = None) -> None:
        super().__init__(message)
        self.state = state


class WrappedFailure(RecorderError):
    """Several failures that happened at once (e.g. two parallel tasks failed).

    A failure that is itself a captured WrappedFailure is replaced by the
    failures it wraps, as TaskFlow flattens them.
    """

    def __init__(self, failures: Sequence[Failure]) -> None:
        self._failures: list[Failure] = []
        for failure in failures:
            wrapped = failure.exception
            if isinstance(wrapped, WrappedFailure):
                self._failures.extend(wrapped)
            else:
                self._failures.append(failure)
        super().__init__("WrappedFailure: [%s]" % ", ".join(map(str, self._failures)))

    def __len__(self) -> int:
        return len(self._failures)

    def __iter__(self) -> Iterator[Failure]:
        return iter(self._failures)

    def __getitem__(self, index: int) -> Failure:
        return self._failures[index]

    def check(self, *exc_classes: type[BaseException] | str) -> type[BaseException] | str | None:
        """Return the first of ``exc_classes`` that any wrapped failure matches."""
        for failure in self._failures:
            found = failure.check(*exc_classes)
            if found is not None:
                return found
        return None


class StorageError(RecorderError):
    """The recording path failed; what was acknowledged before is still stored."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached (at start, or for good in the middle of a run).

    ``url`` is the database's URL with any password masked.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class SchemaMismatch(StorageError):
    """The database schema is older or newer than this version of recorder expects.

    ``current`` is the database's revision (None: no recorder schema, or not
    known), ``expected`` the revision this recorder needs (None when the
    mismatch is not about revisions, e.g. drift found by ``recorder db check``).
    """

    def __init__(
        self, message: str, *, current: str | None = None, expected: str | None = None
    ) -> None:
        super().__init__(message)
        self.current = current
        self.expected = expected


class WriteFailed(StorageError):
    """A write could not be committed after the allowed retries.

    ``unstored_ops`` / ``unstored_writes`` count what this error stands for and
    was not committed; ``first_unstored_seq`` maps each flow uuid to the first
    transitions ``seq`` that is missing (everything before it was committed).
    """

    def __init__(
        self,
        message: str,
        *,
        unstored_ops: int = 0,
        unstored_writes: int = 0,
        first_unstored_seq: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(message)
        self.unstored_ops = unstored_ops
        self.unstored_writes = unstored_writes
        self.first_unstored_seq: dict[str, int] = dict(first_unstored_seq or {})

    def __reduce__(self) -> tuple[Any, ...]:  # keyword-only fields survive pickling
        return (
            _rebuild_write_failed,
            (str(self), self.unstored_ops, self.unstored_writes, self.first_unstored_seq),
        )


def _rebuild_write_failed(
    message: str, ops: int, writes: int, seqs: Mapping[str, int]
) -> WriteFailed:
    return WriteFailed(message, unstored_ops=ops, unstored_writes=writes, first_unstored_seq=seqs)


class LookupFailed(RecorderError):
    """A flow id given by a user matches no flow, or several; ``query`` is what was given."""

    def __init__(self, message: str, *, query: str | None = None) -> None:
        super().__init__(message)
        self.query = query


class FlowNotFound(LookupFailed):
    """No flow matches the given uuid, uuid prefix or name."""


class AmbiguousFlow(LookupFailed):
    """A uuid prefix matches several flows; the message lists them.

    ``candidates`` holds the uuids of the matching flows, newest first (at most
    as many as the message lists); ``more`` is True when there were more.
    """

    def __init__(
        self,
        message: str,
        *,
        query: str | None = None,
        candidates: Sequence[str] = (),
        more: bool = False,
    ) -> None:
        super().__init__(message, query=query)
        self.candidates = tuple(candidates)
        self.more = more


class OutputFailed(RecorderError):
    """A file the CLI was asked to write (``-o FILE``, ``--html FILE``) cannot be written."""


# TaskFlow's names for the same errors, so that code catching them ports unchanged.
TaskFlowException = RecorderError
StorageFailure = StorageError
Duplicate = DuplicateName
CompilationFailure = FlowDefinitionError
