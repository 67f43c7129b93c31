"""The site's state the fuzzed forms and APIs work on, and the browsers that send them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.test import Client

from accounts.models import User
from billing import services as billing
from billing.models import Order
from plans.models import Line, Plan


@dataclass
class Site:
    customer: User
    line: Line
    order_line: Line  # has an open order
    other_line: Line  # another customer's
    open_order: Order
    plans: dict[str, Plan]
    cards: list[str]  # paid, declined, 3-D Secure

    def order_to_pay(self) -> Order:
        """The order line's open order: the same one until it is paid, then a new one."""
        return billing.order_start(
            user=self.customer, line=self.order_line, plan=self.plans["basic-10"], currency="CNY"
        )


def browser(user: User | None = None) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def with_session(client: Client, **values: Any) -> Client:
    session = client.session
    session.update(values)
    session.save()
    return client


def no_server_error(response: Any) -> None:
    assert response.status_code != 500, response.content[:500]
    # A 5xx the app gives on purpose is a JSON answer naming the payment service, never a crash.
    if response.status_code >= 500:
        assert response.status_code in (502, 503), response.status_code
        assert "error" in response.json()
