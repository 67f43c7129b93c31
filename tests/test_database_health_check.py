"""The database's health check (``boomcard.postgresql``): a live, idle connection is taken as alive
without a round trip; one the server dropped is found dead and replaced. Over a real HTTP
server, tests/reliability/test_database_drops.py kills the site's idle connections between two
requests and finds the next ones served."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper

from boomcard.postgresql.base import DatabaseWrapper, _waiting
from tests.celery_worker import database_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept() -> Iterator[DatabaseWrapper]:
    """A connection of its own, as a server thread keeps one between requests: open, idle, in
    autocommit."""
    wrapper = connections.create_connection("default")
    assert isinstance(wrapper, DatabaseWrapper)
    wrapper.ensure_connection()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
    yield wrapper
    wrapper.close()


@pytest.fixture
def other(kept: DatabaseWrapper) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    conn = psycopg.connect(database_url(kept.settings_dict), autocommit=True)
    yield conn
    conn.close()


def asked(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each time Django's own check (a ``SELECT 1``) runs, with its answer."""
    answers: list[bool] = []
    ask = PostgreSQLDatabaseWrapper.is_usable

    def counted(self: PostgreSQLDatabaseWrapper) -> bool:
        answers.append(ask(self))
        return answers[-1]

    monkeypatch.setattr(PostgreSQLDatabaseWrapper, "is_usable", counted)
    return answers


def until_waiting(wrapper: DatabaseWrapper) -> None:
    """Until the server's word has reached the connection's socket."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if _waiting(wrapper.connection.fileno()):
                return
        except psycopg.OperationalError:  # psycopg has seen it already
            return
        time.sleep(0.01)
    raise AssertionError("nothing reached the connection within 5 s")


def test_the_settings_use_the_backend() -> None:
    assert isinstance(connections["default"], DatabaseWrapper)


def test_a_live_idle_connection_is_usable_without_asking_the_server(kept, monkeypatch) -> None:
    answers = asked(monkeypatch)
    assert kept.is_usable()
    assert answers == []


def test_a_connection_the_server_dropped_is_not_usable_and_is_replaced(kept, other, monkeypatch) -> None:
    other.execute("SELECT pg_terminate_backend(%s)", [kept.connection.info.backend_pid])
    until_waiting(kept)
    assert not kept.is_usable()
    # As at the start of a request: the dead connection is closed, and the next query opens another.
    kept.health_check_done = False
    kept.close_if_health_check_failed()
    assert kept.connection is None
    with kept.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_connection_with_something_to_read_is_asked_and_found_alive(kept, other, monkeypatch) -> None:
    """A notification waiting on the socket is not a dropped connection: the server is asked."""
    with kept.cursor() as cursor:
        cursor.execute("LISTEN boom_health_check")
    other.execute("NOTIFY boom_health_check")
    until_waiting(kept)
    answers = asked(monkeypatch)
    assert kept.is_usable()
    assert answers == [True]


def test_a_connection_in_a_transaction_is_asked(kept, monkeypatch) -> None:
    answers = asked(monkeypatch)
    kept.set_autocommit(False)
    with kept.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert kept.is_usable()
    assert answers == [True]
    kept.rollback()
    kept.set_autocommit(True)
