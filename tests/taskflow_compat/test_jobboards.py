"""TaskFlow's job-board tests and claim-listener tests on recorder's SQL board.

``jobs/base.py``'s ``BoardTestMixin`` (copied at run time) runs on a SQLite file
and on PostgreSQL with TaskFlow's ZooKeeper board swapped for
``recorder.jobs.backends.fetch``; ``test_listeners.py``'s ``TestClaimListener``
runs with its ZooKeeper set-up replaced by the same board, and its
"destroy the lock" / "change the owner" steps done in SQL on the ``jobs``
table (what a lost claim is there). Two TaskFlow helpers the mixin uses are
stood in for, since recorder does not provide them: ``threading_utils
.daemon_thread`` (a daemon ``threading.Thread``) and the directory persistence
backend of ``test_posting_with_book`` (recorder's SQL persistence on the same
database: the test checks that ``job.book`` is loaded from the persistence
backend given to the board). recorder is imported inside the tests so that a
missing API fails each test (listed in expected_failures.txt).
"""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest
from tfcompat.helpers import test
from tfcompat.unit import test_listeners
from tfcompat.unit.jobs import base


def _daemon_thread(target: Any, *args: Any, **kwargs: Any) -> threading.Thread:
    return threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)


class _Boards:
    url = ""

    def _install_helpers(self) -> None:
        from recorder.persistence import backends

        url = self.url
        base.threading_utils = types.SimpleNamespace(daemon_thread=_daemon_thread)
        base.impl_dir = types.SimpleNamespace(
            DirBackend=lambda conf: backends.fetch({"connection": url})
        )

    def _board(self, persistence: Any = None) -> Any:
        from recorder.jobs import backends

        board = backends.fetch(
            "test-board", {"url": self.url, "lease": 30, "poll_interval": 0.05}, persistence
        )
        self.addCleanup(board.close)  # type: ignore[attr-defined]
        return board


class _BoardTest(_Boards, base.BoardTestMixin):  # type: ignore[misc]
    def setUp(self) -> None:
        super().setUp()
        self._install_helpers()
        self.client, self.board = self.create_board()

    def create_board(self, persistence: Any = None) -> tuple[Any, Any]:
        board = self._board(persistence)
        return board, board  # the "client" is the board's own connection

    def close_client(self, client: Any) -> None:
        client.close()


class _ClaimListenerTest(_Boards, test_listeners.TestClaimListener):  # type: ignore[misc]
    __test__ = False  # only the per-database subclasses below run
    __unittest_skip__ = False  # TestClaimListener is skipped when ZooKeeper is not available

    def setUp(self) -> None:
        test.TestCase.setUp(self)  # not TestClaimListener's: it starts a ZooKeeper client
        self.board = self._board()
        self.board.connect()

    def _post_claim_job(self, job_name: str, book: Any = None, details: Any = None) -> Any:
        from recorder import states

        job = self.board.post(job_name, book=book, details=details)
        self.board.claim(job, self.board.name)
        self.assertEqual(states.CLAIMED, job.state)
        return job

    def _update_claimed(self, assignments: str, **params: Any) -> int:
        from sqlalchemy import text

        with self.board.engine.begin() as conn:
            sql = "UPDATE jobs SET %s WHERE state = 'CLAIMED'" % assignments
            return int(conn.execute(text(sql), params).rowcount)

    def _destroy_locks(self) -> int:
        return self._update_claimed("state = 'UNCLAIMED', owner = NULL")

    def _change_owner(self, new_owner: str) -> int:
        return self._update_claimed("owner = :owner", owner=new_owner)


class SqliteBoardTest(_BoardTest, test.TestCase):  # type: ignore[misc]
    @pytest.fixture(autouse=True)
    def _database(self, sqlite_url: str) -> None:
        self.url = sqlite_url


@pytest.mark.postgres
class PostgresBoardTest(_BoardTest, test.TestCase):  # type: ignore[misc]
    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> None:
        self.url = pg_url


class SqliteClaimListenerTest(_ClaimListenerTest):
    __test__ = True

    @pytest.fixture(autouse=True)
    def _database(self, sqlite_url: str) -> None:
        self.url = sqlite_url


@pytest.mark.postgres
class PostgresClaimListenerTest(_ClaimListenerTest):
    __test__ = True

    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> None:
        self.url = pg_url
