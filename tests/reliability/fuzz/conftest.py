"""The fuzz tests' site: a customer with lines, an open order and saved cards, at localstripe."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from billing import services as billing
from plans.models import Plan
from plans.services import bucket_grant
from tests.factories import LineFactory, UserFactory
from tests.reliability.conftest import CARD_OK, stripe_api, stripe_card
from tests.reliability.fuzz.site import Site
from tests.reliability.fuzz.values import CARD_3DS, CARD_DECLINED


@pytest.fixture
def site(plans: dict[str, Plan], localstripe: str, settings: Any) -> Site:
    # A cache of this test's own: examples clear it, and Redis's is shared with other runs.
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    customer = UserFactory.create(email="fuzz@example.com")
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    order_line = LineFactory.create(owner=customer)
    bucket_grant(line=order_line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    open_order = billing.order_start(user=customer, line=order_line, plan=plans["basic-10"], currency="CNY")
    LineFactory.create()  # an unowned line, which "add a line" can claim
    other_line = LineFactory.create(owner=UserFactory.create())
    api = stripe_api(localstripe)
    return Site(
        customer=customer,
        line=line,
        order_line=order_line,
        other_line=other_line,
        open_order=open_order,
        plans=plans,
        cards=[stripe_card(api, localstripe, number) for number in (CARD_OK, CARD_DECLINED, CARD_3DS)],
    )
