"""Django's PostgreSQL backend with a health check that costs no round trip on a live connection.

With ``CONN_HEALTH_CHECKS``, Django checks a kept connection before a request first uses it, so
that one the server dropped while it was idle (a restart, a failover, ``pg_terminate_backend``, an
idle timeout) is replaced instead of failing the request. Its check is a ``SELECT 1``: one more
round trip on every request that reads the database, a third of those the first view of a page
after a notice makes (BENCHMARKS.md).

A server that drops a connection says so on it: it sends its reason (``FATAL: terminating
connection ...``) and closes its end, and the idle socket has something to read. A connection with
nothing waiting is as it was left, and is taken as alive, with a ``poll`` (microseconds); only one
with something waiting is asked with Django's ``SELECT 1``, which tells a dropped connection from
one that merely holds a notification. The same test go's MySQL driver makes before reusing a
connection (``connCheck``). What it cannot see, a peer that vanished without a word (a host gone,
a silent firewall), the ``SELECT 1`` would not have answered either: it would have waited as long.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg.pq import TransactionStatus


def _waiting(fileno: int) -> bool:
    """Whether the socket has something to read (or its peer has closed it), without waiting."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE:
            try:
                if not _waiting(connection.fileno()):
                    return True
            except (psycopg.Error, OSError):  # lost: psycopg has no socket to give
                return False
        # Something to read, or not idle between two statements: ask the server.
        return bool(super().is_usable())
