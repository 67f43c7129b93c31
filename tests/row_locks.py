"""Row locks held by another connection, as a long transaction of another worker (or a page, or a
refund) would hold them, for tests of what waits on them and what passes them over."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import QuerySet


@contextmanager
def rows_locked(rows: QuerySet[Any]) -> Iterator[None]:
    """While the block runs, another connection holds ``rows``' locks (``SELECT ... FOR UPDATE``).
    The test must use a real transaction (``django_db(transaction=True)``): the rows must be
    committed for the other connection to see them."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(rows.select_for_update())
                locked.set()
                release.wait(timeout=60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=10), "the other connection did not get the lock"
        yield
    finally:
        release.set()
        holder.join(timeout=10)


def waiting_for_a_lock() -> bool:
    """Whether some connection to this database waits for a lock now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        row = cursor.fetchone()
    return bool(row and row[0])
