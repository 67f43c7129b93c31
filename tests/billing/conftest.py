from typing import Any

import pytest
import requests

from accounts.models import User
from plans.demo import seed_catalogue
from plans.models import Line, Plan
from plans.services import bucket_grant
from tests.factories import LineFactory, UserFactory


@pytest.fixture
def plans(db: Any) -> dict[str, Plan]:
    return seed_catalogue()


@pytest.fixture
def customer(db: Any) -> User:
    return UserFactory.create(email="buyer@example.com")


@pytest.fixture
def line(customer: User, plans: dict[str, Plan]) -> Line:
    """A line on basic-10 with 10 days left."""
    from datetime import timedelta

    from django.utils import timezone

    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    line.refresh_from_db()
    return line


CARDS = {
    "ok": "4242424242424242",
    "3ds": "4000002500003155",
    "declined": "4000000000000341",
}


@pytest.fixture
def card(localstripe: str):
    """``card("ok")``: a PaymentMethod id for a test card, made on localstripe as the page would."""

    def make(kind: str = "ok") -> str:
        response = requests.post(
            f"{localstripe}/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": CARDS[kind],
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
            auth=("sk_test_boom_local", ""),
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["id"])

    return make
