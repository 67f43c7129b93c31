"""Celery tasks: queued after the commit by the one enqueue_on_commit, named <entity>_<action>_task,
and scheduled by beat under names that exist."""

import logging
from typing import Any

import pytest
from celery import shared_task
from kombu.exceptions import OperationalError

from boomcard.tasks import enqueue_on_commit

pytestmark = pytest.mark.django_db


@shared_task
def sample_task(first: int, *, second: str = "") -> None:  # pragma: no cover - never run here
    pass


def test_the_task_is_queued_only_when_the_transaction_commits(django_capture_on_commit_callbacks, monkeypatch):
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(sample_task, "apply_async", lambda args, **options: queued.append((args, options)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_on_commit(sample_task, 7, second="x")
        assert queued == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert queued == [((7,), {"kwargs": {"second": "x"}, "retry_policy": {"max_retries": 1, "interval_start": 0}})]


def test_a_broker_that_cannot_take_the_task_is_logged_and_raises_nothing(
    django_capture_on_commit_callbacks, monkeypatch, caplog
):
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(sample_task, "apply_async", broker_down)
    with caplog.at_level(logging.WARNING, logger="boomcard.tasks"), django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(sample_task, 7)
    assert [record.getMessage() for record in caplog.records] == [
        "task tests.test_tasks.sample_task(7,) not queued "
        "(OperationalError('Error 111 connecting to 127.0.0.1:6379. Connection refused.'))"
    ]


def test_every_task_of_the_apps_is_named_entity_action_task_and_beat_names_only_those():
    from boomcard.celery import app

    app.loader.import_default_modules()
    ours = {name for name in app.tasks if name.split(".")[0] in {"accounts", "plans", "billing"}}
    assert ours, "no task of the apps is registered"
    assert sorted(name for name in ours if not name.endswith("_task")) == []
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled <= ours
