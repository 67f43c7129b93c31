"""The webhook tests' orders paid at Stripe, and the processing their events queue, kept."""

import contextlib
from typing import Any

import pytest

from billing import tasks
from billing.models import Order
from tests.billing.stripe_events import pay_at_stripe, start_order


@pytest.fixture
def paid_order(client, customer, line, localstripe, card) -> tuple[Order, dict[str, Any]]:
    """An order whose intent succeeded at Stripe, and the intent as Stripe now gives it."""
    order = start_order(client, customer, line)
    return order, pay_at_stripe(localstripe, order, card("ok"))


@pytest.fixture
def queued(monkeypatch, django_capture_on_commit_callbacks):
    """``with queued() as tasks:`` runs the callbacks the block leaves for its commit, as a commit
    would, and collects the events whose processing they queued (stored rows' ids) instead of
    sending them to the broker."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.stripe_event_process_task, "apply_async", lambda args, **options: sent.extend(args))

    @contextlib.contextmanager
    def capture():
        with django_capture_on_commit_callbacks(execute=True):
            yield sent

    return capture
