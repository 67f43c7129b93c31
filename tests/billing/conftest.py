"""Fixtures of the billing tests (the customer, their line, the catalogue and cards are in tests/conftest.py)."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from billing.models import Order
from plans.models import Line
from tests.billing.stripe_events import start_order
from tests.card_payments import pay_by_card


@pytest.fixture
def fulfilled_order(customer: User, line: Line, localstripe: str, card: Any) -> Order:
    """A renewal the customer paid by card on the page: fulfilled, with its bucket."""
    browser = Client(headers={"Accept-Language": "en"})
    order = start_order(browser, customer, line)
    paid = pay_by_card(browser, order, card("ok"), localstripe=localstripe)
    assert paid.order.status == Order.Status.FULFILLED
    return paid.order
