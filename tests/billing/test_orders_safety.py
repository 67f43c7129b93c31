"""What a customer cannot do to an order, by accident or on purpose: pay twice, set the price, or
reach someone else's line or order; and what the database refuses whatever the code does."""

import threading
from typing import Any

import pytest
import requests
from django.db import IntegrityError, connections, transaction
from django.test import Client
from django.urls import reverse

from billing.models import Order, OrderItem, PaymentProfile
from plans.models import Bucket, Plan
from plans.services import bucket_grant
from tests.billing.stripe_events import STRIPE_AUTH, start_order
from tests.factories import LineFactory, UserFactory, price_minor

pytestmark = pytest.mark.django_db


def intents_for(localstripe: str, order: Order) -> list[dict[str, Any]]:
    """Every PaymentIntent localstripe holds for the order (it ignores idempotency keys, so a
    second create would show here)."""
    response = requests.get(f"{localstripe}/v1/payment_intents", params={"limit": 100}, auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return [intent for intent in response.json()["data"] if intent["metadata"].get("order") == order.public_id]


def all_intents(localstripe: str) -> list[dict[str, Any]]:
    response = requests.get(f"{localstripe}/v1/payment_intents", params={"limit": 100}, auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return list(response.json()["data"])


# --- Double submits -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_the_same_moment_make_one_order_and_one_intent(customer, line, localstripe):
    url = reverse("billing:renew", args=[line.pk])
    browsers = [Client(headers={"Accept-Language": "en"}) for _ in range(2)]
    for browser in browsers:
        browser.force_login(customer)
    start = threading.Barrier(len(browsers))
    responses: list[Any] = []
    errors: list[BaseException] = []

    def submit(browser: Client) -> None:
        try:
            start.wait(timeout=10)
            responses.append(browser.post(url, {"plan": "basic-10"}))
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    [order] = Order.objects.all()
    assert [r.status_code for r in responses] == [302, 302]
    assert {r["Location"] for r in responses} == {reverse("billing:pay", args=[order.public_id])}
    [intent] = intents_for(localstripe, order)
    assert intent["id"] == order.payment_intent_id
    assert PaymentProfile.objects.filter(user=customer).count() == 1


# --- What the browser posts -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["no-such-plan", "retired", "../basic-10", ""])
def test_tampered_plan_code_is_a_form_error_and_creates_nothing(client, customer, line, plans, localstripe, code):
    Plan.objects.filter(pk=plans["basic-30"].pk).update(code="retired", is_active=False)
    client.force_login(customer)

    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": code})

    assert response.status_code == 200
    assert response.context["form"].errors["plan"]
    assert not Order.objects.exists()
    assert not PaymentProfile.objects.exists()
    assert all_intents(localstripe) == []


def test_price_posted_by_the_browser_is_ignored(client, customer, line, plans, localstripe):
    client.force_login(customer)

    client.post(
        reverse("billing:renew", args=[line.pk]),
        {"plan": "basic-10", "amount": "1", "amount_minor": "1", "price": "0.01", "currency": "USD"},
    )

    order = Order.objects.get()
    price = price_minor(plans["basic-10"])
    assert (order.amount_minor, order.currency) == (price, "CNY")
    [intent] = intents_for(localstripe, order)
    assert (intent["amount"], intent["currency"]) == (price, "cny")


def test_renewing_another_customers_line_is_not_found_and_creates_nothing(client, customer, line, localstripe):
    intruder = UserFactory.create()
    client.force_login(intruder)
    url = reverse("billing:renew", args=[line.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"plan": "basic-10"}).status_code == 404
    assert not Order.objects.exists()
    assert all_intents(localstripe) == []


@pytest.mark.parametrize(
    ("name", "method"),
    [("billing:order", "get"), ("billing:pay", "get"), ("billing:pay_card", "post"), ("billing:receipt", "get")],
)
def test_another_customers_order_is_not_found(client, customer, line, localstripe, name, method):
    order = start_order(Client(headers={"Accept-Language": "en"}), customer, line)
    url = reverse(name, args=[order.public_id])
    data = {"save_card": "on"} if method == "post" else {}
    client.force_login(UserFactory.create())

    response = getattr(client, method)(url, data)

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not Bucket.objects.filter(order_item__order=order).exists()
    # The owner reaches the same address.
    client.force_login(customer)
    assert getattr(client, method)(url, data).status_code != 404


# --- Stripe out of reach ------------------------------------------------------------------------


def test_stripe_unreachable_when_renewing_keeps_the_order_for_later(client, customer, line, localstripe, settings):
    client.force_login(customer)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"}, follow=True)

    assert response.redirect_chain == [(reverse("billing:renew", args=[line.pk]), 302)]
    assert "The payment service is not answering just now. Your order is kept" in response.content.decode()
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING
    assert order.payment_intent_id is None

    settings.STRIPE_API_BASE = localstripe
    page = client.get(reverse("billing:pay", args=[order.public_id]))

    assert page.status_code == 200
    order.refresh_from_db()
    assert order.payment_intent_id
    assert 'id="card-form"' in page.content.decode()
    [intent] = intents_for(localstripe, order)
    assert intent["id"] == order.payment_intent_id


def test_stripe_unreachable_when_paying_by_card_says_so_and_keeps_the_order(
    client, customer, line, localstripe, settings
):
    order = start_order(client, customer, line)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = client.post(reverse("billing:pay_card", args=[order.public_id]), {"save_card": "on"})

    assert response.status_code == 200
    assert response.json() == {
        "status": "pending",
        "error": "The payment service is not answering just now. Your order is kept: please try again in a minute.",
    }
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


# --- What the database refuses ------------------------------------------------------------------


def _order(line: Any, plan: Plan, status: str) -> Order:
    order = Order.objects.create(
        user=line.owner,
        line=line,
        plan=plan,
        kind=Order.Kind.RENEWAL,
        amount_minor=3800,
        currency="CNY",
        status=status,
    )
    OrderItem.objects.create(order=order, position=0, plan=plan, amount_minor=3800)
    return order


@pytest.mark.parametrize("second", [Order.Status.PENDING, Order.Status.REQUIRES_ACTION, Order.Status.FAILED])
def test_database_refuses_a_second_open_order_for_a_line(line, plans, second):
    _order(line, plans["basic-10"], Order.Status.PENDING)

    with pytest.raises(IntegrityError), transaction.atomic():
        _order(line, plans["basic-10"], second)


def test_database_allows_a_new_order_once_the_last_is_closed(line, plans):
    _order(line, plans["basic-10"], Order.Status.CANCELLED)
    _order(line, plans["basic-10"], Order.Status.FULFILLED)
    _order(line, plans["basic-10"], Order.Status.PENDING)

    assert Order.objects.filter(line=line).count() == 3


def test_database_refuses_one_bucket_for_two_items(line, plans):
    order = _order(line, plans["basic-10"], Order.Status.FULFILLED)
    bucket = bucket_grant(line=line, plan=plans["basic-10"])
    order.items.update(bucket=bucket)
    other = _order(LineFactory.create(owner=line.owner), plans["basic-10"], Order.Status.FULFILLED)

    with pytest.raises(IntegrityError), transaction.atomic():
        other.items.update(bucket=bucket)

    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert not Bucket.objects.filter(order_item__order=other).exists()


def test_database_refuses_two_items_in_one_place_of_an_order(line, plans):
    order = _order(line, plans["basic-10"], Order.Status.PENDING)

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItem.objects.create(order=order, position=0, plan=plans["topup-5"], amount_minor=1500)
