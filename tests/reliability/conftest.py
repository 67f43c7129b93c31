"""Fixtures for the tests that run a real Celery worker against real Redis and PostgreSQL.

The broker is a Redis database of these tests' own (``BROKER_URL``), emptied before each test:
the rest of the suite uses database 15 as the cache and empties it at the start of every test
(``cache.clear()``), which would throw away queued tasks if another test run shared it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from django.db import connection

from boomcard.celery import app as celery_app
from tests.billing.conftest import card, customer, line, plans  # noqa: F401  (fixtures)
from tests.celery_worker import Worker, celery_worker, database_url

BROKER_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> str:
    """The reliability tests' broker, empty; this process's Celery app publishes to it (the
    tasks the app enqueues on commit), and goes back to the suite's broker afterwards."""
    redis.Redis.from_url(BROKER_URL).flushdb()
    monkeypatch.setitem(celery_app.conf, "broker_url", BROKER_URL)
    # No pooled connections: the next publish opens them to the new broker. (Celery has no
    # public way to say so; these are what its after-fork handler clears.)
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    return BROKER_URL


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    """Where the worker's email backend writes one file per email."""
    return tmp_path / "mail"


@pytest.fixture
def worker(broker: str, mail_dir: Path, tmp_path: Path, settings: Any) -> Callable[..., AbstractContextManager[Worker]]:
    """``with worker(email_delay=3) as w:`` runs a real worker on the test database (committed rows
    only: mark the test ``django_db(transaction=True)``), the test broker and this test's
    localstripe, mailing to ``mail_dir``."""

    def start(*, email_delay: float = 0.0) -> AbstractContextManager[Worker]:
        return celery_worker(
            database_url=database_url(connection.settings_dict),
            broker_url=broker,
            stripe_api_base=settings.STRIPE_API_BASE,
            mail_dir=mail_dir,
            run_dir=tmp_path / "worker",
            email_delay=email_delay,
        )

    return start


def broker_idle() -> bool:
    """No task waiting in a queue or handed out and not yet acknowledged."""
    client = redis.Redis.from_url(BROKER_URL)
    queued = sum(client.llen(queue) for queue in ("email", "billing", "usage", "celery"))
    return queued == 0 and client.hlen("unacked") == 0


def handed_out_since() -> list[float]:
    """When each task handed to a worker and not yet acknowledged was handed out (Unix time):
    kombu's Redis transport keeps them in the ``unacked_index`` sorted set, scored by that time."""
    entries = redis.Redis.from_url(BROKER_URL).zrange("unacked_index", 0, -1, withscores=True)
    return [float(score) for _tag, score in cast(list[tuple[bytes, float]], entries)]
