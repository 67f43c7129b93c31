"""Buying the recommender's whole suggestion (a plan, top-ups, roaming packs) in one order: priced by
the server, for the customer's own line, paid once, a bucket per item, refunded whole."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import Order
from boomcard.formats import money
from plans.models import Bucket
from tests.billing.stripe_events import pay_at_stripe, stripe_get
from tests.factories import LineFactory, UserFactory, price_minor

pytestmark = pytest.mark.django_db

# basic-30 + 2 × topup-5 + roam-jpkr-7, priced from the test's own catalogue (``prices``).
SUGGESTION = "?item=basic-30.1&item=topup-5.2&item=roam-jpkr-7.1&currency=CNY"


def prices(plans) -> dict[str, int]:
    """What SUGGESTION costs in the test's catalogue, in fen: each item, the two packs, the total."""
    basic, topup, roam = (price_minor(plans[code]) for code in ("basic-30", "topup-5", "roam-jpkr-7"))
    return {
        "basic-30": basic,
        "topup-5": topup,
        "2 × topup-5": 2 * topup,
        "roam-jpkr-7": roam,
        "total": basic + 2 * topup + roam,
    }


def suggestion_url(query: str = SUGGESTION) -> str:
    return reverse("billing:suggestion") + query


def buy(client: Client, line, query: str = SUGGESTION, **posted: str) -> Order:
    response = client.post(suggestion_url(query), {"line": str(line.pk), **posted})
    assert response.status_code == 302, response.content.decode()[:500]
    order = Order.objects.get(line=line, status=Order.Status.PENDING)
    assert response["Location"] == reverse("billing:pay", args=[order.public_id])
    return order


def test_page_lists_each_item_with_its_catalogue_price_and_the_total(client, customer, line, plans):
    client.force_login(customer)

    page = client.get(suggestion_url() + f"&line={line.pk}").content.decode()

    cost = prices(plans)
    assert money(cost["basic-30"], "CNY") in page
    assert "2 × " in page
    assert money(cost["2 × topup-5"], "CNY") in page
    assert money(cost["roam-jpkr-7"], "CNY") in page
    assert money(cost["total"], "CNY") in page
    assert f'value="{line.pk}" checked' in page


def test_one_order_with_an_item_per_unit_at_the_servers_price_whatever_is_posted(
    client, customer, line, plans, localstripe
):
    client.force_login(customer)

    order = buy(client, line, amount_minor="1", price="1", total="1")

    cost = prices(plans)
    assert order.amount_minor == cost["basic-30"] + 2 * cost["topup-5"] + cost["roam-jpkr-7"]
    assert order.currency == "CNY"
    assert order.plan.code == "basic-30"
    assert order.kind == Order.Kind.CHANGE
    items = list(order.items.order_by("position"))
    assert [(item.plan.code, item.amount_minor) for item in items] == [
        ("basic-30", cost["basic-30"]),
        ("topup-5", cost["topup-5"]),
        ("topup-5", cost["topup-5"]),
        ("roam-jpkr-7", cost["roam-jpkr-7"]),
    ]
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    assert (intent["amount"], intent["currency"]) == (cost["total"], "cny")


def test_packs_listed_first_are_still_granted_after_the_base_plan(client, customer, line, plans, localstripe):
    client.force_login(customer)

    order = buy(client, line, "?item=roam-jpkr-7.1&item=basic-30.1&currency=CNY")

    assert [item.plan.code for item in order.items.order_by("position")] == ["basic-30", "roam-jpkr-7"]
    assert order.plan.code == "basic-30"


def test_paying_once_grants_every_item_its_bucket_once_and_refund_withdraws_them_all(
    client, customer, line, plans, localstripe, card
):
    client.force_login(customer)
    expiry_before = line.expires_at
    order = buy(client, line)
    pay_page = client.get(reverse("billing:pay", args=[order.public_id])).content.decode()
    assert "Items" in pay_page  # what is paid for, item by item, before paying
    assert "2 × " in pay_page
    assert "¥45.00" in pay_page
    pay_at_stripe(localstripe, order, card("ok"))

    services.order_fulfil(order=order)
    services.order_fulfil(order=order)  # the return page and a replay: nothing more
    client.get(reverse("billing:order", args=[order.public_id]))

    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    buckets = list(Bucket.objects.filter(order_item__order=order).order_by("order_item__position"))
    assert [bucket.plan.code for bucket in buckets] == ["basic-30", "topup-5", "topup-5", "roam-jpkr-7"]
    assert order.items.filter(bucket__isnull=True).count() == 0
    assert line.expires_at == expiry_before + timedelta(days=30)  # only the base plan moves it
    assert line.plan.code == "basic-30"
    assert buckets[3].expires_at - buckets[3].starts_at == timedelta(days=7)
    assert customer.notices.filter(kind="payment_confirmed").count() == 1

    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()
    assert "Payment received" in page
    assert "2 × " in page
    cost = prices(plans)
    assert money(cost["total"], "CNY") in page
    assert "Japan, South Korea" in page
    receipt = client.get(reverse("billing:receipt", args=[order.public_id])).content.decode()
    assert "Items" in receipt
    assert money(cost["2 × topup-5"], "CNY") in receipt
    assert money(cost["roam-jpkr-7"], "CNY") in receipt
    pdf = client.get(reverse("billing:receipt_pdf", args=[order.public_id]))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")

    services.order_refund(order=order, reason="test")

    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    for bucket in Bucket.objects.filter(order_item__order=order):
        assert (bucket.data_left, bucket.voice_left, bucket.sms_left) == (0, 0, 0)
    assert line.expires_at == expiry_before


def test_an_order_whose_items_do_not_add_up_is_held_for_staff_and_grants_nothing(
    client, customer, line, plans, localstripe, card
):
    client.force_login(customer)
    order = buy(client, line)
    order.items.filter(position=3).delete()  # never by the app: a row lost by hand
    pay_at_stripe(localstripe, order, card("ok"))

    order = services.order_fulfil(order=order)

    assert order.status == Order.Status.PAID
    assert "check by hand" in order.failure_reason
    assert not Bucket.objects.filter(order_item__order=order).exists()


def test_another_customers_line_is_not_found(client, customer, line, plans):
    stranger_line = LineFactory.create(owner=UserFactory.create())
    client.force_login(customer)

    assert client.get(suggestion_url() + f"&line={stranger_line.pk}").status_code == 404
    assert client.post(suggestion_url(), {"line": str(stranger_line.pk)}).status_code == 404
    assert not Order.objects.exists()


def test_a_visitor_is_sent_to_log_in_and_back(plans):
    response = Client().get(suggestion_url())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "next=/plans/recommend/buy/%3Fitem%3Dbasic-30.1" in response["Location"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "it is empty"),
        ("?item=basic-30", "not written as expected"),
        ("?item=basic-30.0", "1 to 10 times"),
        ("?item=topup-5.11", "1 to 10 times"),
        ("?item=no-such-plan.1", "no longer on sale"),
        ("?item=flex.1", "flexible plan"),
        ("?item=flex.1.500.200", "Choose between 1 and 100 GB"),
        ("?item=flex.1.10.250", "in hundreds"),
        ("?item=basic-30.1.5.100", "flexible plan"),
        ("?item=basic-30.1&item=basic-10.1", "more than one home plan"),
        ("?item=" + "x" * 5000, "not written as expected"),
        ("?" + "&".join(["item=topup-5.1"] * 9), "too many parts"),
        ("?" + "&".join(["item=topup-5.10"] * 3), "too many parts"),
        ("?item=basic-30.1&currency=EUR&item=topup-5.999", "1 to 10 times"),
    ],
)
def test_bad_suggestions_get_a_clear_message_and_400(client, customer, line, plans, query, message):
    client.force_login(customer)

    for response in (client.get(suggestion_url(query)), client.post(suggestion_url(query), {"line": str(line.pk)})):
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not Order.objects.exists()


def test_a_plan_not_sold_in_the_currency_is_refused(client, customer, line, plans):
    plans["topup-5"].prices.filter(currency="USD").delete()
    client.force_login(customer)

    response = client.get(suggestion_url("?item=topup-5.1&currency=USD"))

    assert response.status_code == 400
    assert "not sold in USD" in response.content.decode()


def test_a_line_that_is_not_a_number_is_a_form_error(client, customer, line, plans):
    client.force_login(customer)

    response = client.post(suggestion_url(), {"line": "abc"})

    assert response.status_code == 400
    assert "Choose the line" in response.content.decode()
    assert not Order.objects.exists()


def test_a_pending_order_on_the_line_is_replaced_and_the_same_suggestion_twice_reuses_it(
    client, customer, line, plans, localstripe
):
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    renewal = Order.objects.get(line=line)

    first = buy(client, line)
    again = buy(client, line)

    renewal.refresh_from_db()
    assert renewal.status == Order.Status.CANCELLED
    assert again.pk == first.pk
    assert Order.objects.filter(line=line, status=Order.Status.PENDING).count() == 1


def test_recommend_page_links_each_option_to_the_suggestion_page(client, customer, line, plans):
    client.force_login(customer)

    page = client.get(reverse("plans:recommend"), {"data_gb": "40", "minutes": "100", "sms": "10"}).content.decode()

    assert page.count('class="button primary reco-buy"') == 1
    assert "/plans/recommend/buy/?item=" in page
    assert f"line={line.pk}" in page
