"""Packs bought to last a trip's days run one after another: the recommender says so, the link
carries it, the order keeps it, and each such pack starts when the one before it ends."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Order
from plans import selectors
from plans.basket import BasketEntry, basket_entry_parse, basket_query
from plans.models import Bucket
from plans.pricing import FlexibleChoice
from plans.recommender import Need, Trip, plan_recommend
from plans.services import bucket_grant, bucket_withdraw
from tests.billing.stripe_events import pay_at_stripe
from tests.billing.test_suggestion_order import buy, suggestion_url

pytestmark = pytest.mark.django_db

IN_TURN = "?item=basic-30.1&item=roam-jpkr-7.2.t&currency=CNY"
SIDE_BY_SIDE = "?item=basic-30.1&item=roam-jpkr-7.2&currency=CNY"


def test_the_recommenders_items_go_through_the_link_and_back(plans):
    catalogue = selectors.catalogue(currency="CNY")
    need = Need(data_gb=Decimal(1), trips=(Trip("KR", 10),))
    best = plan_recommend(need=need, plans=catalogue, currency="CNY").best
    assert best is not None

    query = basket_query(best.items)

    assert "item=roam-jpkr-7.2.t" in query
    entries = [basket_entry_parse(text.split("=", 1)[1]) for text in query.split("&")]
    assert [(e.code, e.count, e.in_turn) for e in entries if e] == [
        (i.plan.code, i.quantity, i.in_turn) for i in best.items
    ]
    assert basket_entry_parse("roam-jpkr-7.2") == BasketEntry("roam-jpkr-7", 2, in_turn=False)  # links before it
    assert basket_entry_parse("roam-jpkr-7.2.t") == BasketEntry("roam-jpkr-7", 2, in_turn=True)
    assert basket_entry_parse("flex.1.5.100") == BasketEntry("flex", 1, FlexibleChoice(5, 100))
    assert basket_entry_parse("roam-jpkr-7.2.x") is None
    assert basket_entry_parse("roam-jpkr-7.2.t.t") is None


@pytest.mark.parametrize("query", ["?item=basic-30.1.t", "?item=flex.1.5.100.t"])
def test_only_add_on_packs_run_one_after_another(client, customer, line, plans, query):
    client.force_login(customer)

    response = client.get(suggestion_url(query))

    assert response.status_code == 400
    assert "only add-on packs can run one after another" in response.content.decode()


def test_suggestion_page_says_the_packs_run_one_after_another(client, customer, line, plans):
    client.force_login(customer)

    page = client.get(suggestion_url(IN_TURN)).content.decode()
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    chinese = client.get(suggestion_url(IN_TURN)).content.decode()

    assert "2 × Japan &amp; Korea 5 GB, 7 days, one after another" in page
    assert "依次使用" in chinese
    assert "one after another" not in client.get(suggestion_url(SIDE_BY_SIDE)).content.decode().split("<ul")[1]


def test_pay_page_says_the_packs_run_one_after_another(client, customer, line, plans, localstripe):
    client.force_login(customer)
    order = buy(client, line, IN_TURN)

    page = client.get(reverse("billing:pay", args=[order.public_id])).content.decode()

    assert "2 × Japan &amp; Korea 5 GB, 7 days, one after another" in page


def pay(client, line, localstripe, card, query: str) -> tuple[Order, list[Bucket]]:
    order = buy(client, line, query)
    pay_at_stripe(localstripe, order, card("ok"))
    before = timezone.now()
    order = services.order_fulfil(order=order)
    assert order.status == Order.Status.FULFILLED
    buckets = list(Bucket.objects.filter(order_item__order=order).order_by("order_item__position"))
    assert before <= buckets[0].starts_at <= timezone.now()
    return order, buckets


def test_packs_one_after_another_each_start_when_the_last_ends_and_refund(
    client, customer, line, plans, localstripe, card
):
    client.force_login(customer)

    order, (base, first, second) = pay(client, line, localstripe, card, IN_TURN)

    assert list(order.items.order_by("position").values_list("in_turn", flat=True)) == [False, True, True]
    t = base.starts_at
    assert (first.starts_at, first.expires_at) == (t, t + timedelta(days=7))
    assert (second.starts_at, second.expires_at) == (t + timedelta(days=7), t + timedelta(days=14))
    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()
    assert "2 × Japan &amp; Korea 5 GB, 7 days, one after another" in page
    line_page = client.get(reverse("plans:line", args=[line.pk])).content.decode()
    zone = ZoneInfo(customer.time_zone or settings.CUSTOMER_DEFAULT_TIME_ZONE)
    assert f"From {second.starts_at.astimezone(zone):%Y-%m-%d %H:%M} to " in line_page  # the coming pack

    services.order_refund(order=order, reason="test")  # the second pack has not started yet

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    for bucket in (first, second):
        bucket.refresh_from_db()
        assert (bucket.data_left, bucket.voice_left, bucket.sms_left) == (0, 0, 0)
    assert second.starts_at < second.expires_at


def test_packs_side_by_side_both_start_now(client, customer, line, plans, localstripe, card):
    client.force_login(customer)

    order, (base, first, second) = pay(client, line, localstripe, card, SIDE_BY_SIDE)

    t = base.starts_at
    assert (first.starts_at, first.expires_at) == (second.starts_at, second.expires_at) == (t, t + timedelta(days=7))
    assert "one after another" not in client.get(reverse("billing:order", args=[order.public_id])).content.decode()


def test_withdrawing_a_pack_that_has_not_started_takes_its_allowance_and_keeps_its_days(line, plans):
    now = timezone.now()
    later = bucket_grant(line=line, plan=plans["roam-jpkr-7"], now=now + timedelta(days=7))

    bucket_withdraw(bucket=later, now=now)

    later.refresh_from_db()
    assert (later.data_total, later.voice_total, later.sms_total) == (0, 0, 0)
    assert (later.starts_at, later.expires_at) == (now + timedelta(days=7), now + timedelta(days=14))
