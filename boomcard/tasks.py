"""Queueing a Celery task once the caller's transaction has committed: the one way every app does it."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)

# One quick retry (a connection gone stale) rather than Celery's default back-off, so that a
# broker outage does not also slow down every request or task that queues work.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0}


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Queue ``task(*args, **kwargs)`` after the current transaction commits (at once outside one).

    The queueing runs after the commit of the change it follows, so it must not fail the request
    or task that made that change: if the broker cannot take the task, a warning is logged and
    nothing is raised. What then picks the work up is the caller's to say: a sweep finds the rows
    still pending (the outbox's emails, the usage batches), or the work is dropped.
    """
    transaction.on_commit(lambda: _enqueue(task, args, kwargs))


def _enqueue(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        task.apply_async(args, kwargs=kwargs or None, retry_policy=RETRY_POLICY)
    except Exception as error:  # whatever the broker or its client raises: see enqueue_on_commit
        logger.warning("task %s%r not queued (%r)", task.name, args, error)
