"""The receipt's seller, period, tax and fapiao lines, its PDF, and cancelling an open order."""

from decimal import Decimal

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from billing.models import Order
from billing.selectors import tax_included
from plans.models import Bucket
from tests.billing.stripe_events import start_order
from tests.billing.test_order_pages import make_orders
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db


def fulfilled_with_bucket(line, plan) -> Order:
    [order] = make_orders(line, [plan], 1)
    starts = timezone.now().replace(year=2026, month=12, day=2, hour=10, minute=0, second=0, microsecond=0)
    bucket = Bucket.objects.create(line=line, plan=plan, starts_at=starts, expires_at=starts.replace(day=31))
    order.items.update(bucket=bucket)
    return order


def test_tax_included_in_a_price_is_rounded_half_up_in_minor_units():
    assert tax_included(amount_minor=3800, rate=Decimal(6)) == 215  # 3800 × 6 / 106 = 215.09
    assert tax_included(amount_minor=106, rate=Decimal(6)) == 6
    assert tax_included(amount_minor=3800, rate=Decimal(0)) == 0


@override_settings(
    RECEIPT_SELLER_NAME="Boom Test Ltd.", RECEIPT_SELLER_ADDRESS="9 Test Street", RECEIPT_SELLER_TAX_ID="TAX-123"
)
def test_receipt_shows_seller_period_tax_and_how_to_ask_for_a_fapiao(client, customer, line, plans):
    order = fulfilled_with_bucket(line, plans["basic-10"])
    client.force_login(customer)

    page = client.get(reverse("billing:receipt", args=[order.public_id])).content.decode()

    assert "Boom Test Ltd." in page
    assert "9 Test Street" in page
    assert "TAX-123" in page
    assert "2026-12-02" in page
    assert "2026-12-31" in page
    assert "Tax (6%)" in page
    assert "¥2.15" in page  # the tax in ¥38.00 at 6 %
    assert "¥35.85" in page
    assert "Prices include tax." in page
    assert "发票" in page
    assert "mailto:" in page
    assert reverse("billing:receipt_pdf", args=[order.public_id]) in page


def test_receipt_pdf_is_an_attachment_with_chinese_when_the_customer_reads_chinese(client, customer, line, plans):
    order = fulfilled_with_bucket(line, plans["basic-10"])
    client.force_login(customer)

    response = client.get(reverse("billing:receipt_pdf", args=[order.public_id]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="receipt-{order.public_id}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert b"NotoSansCJK" in response.content  # the CJK font is embedded


@override_settings(RECEIPT_PDF_FONT="/nonexistent.ttc")
def test_receipt_pdf_without_a_cjk_font_is_still_made(client, customer, line, plans):
    order = fulfilled_with_bucket(line, plans["basic-10"])
    client.force_login(customer)

    response = client.get(reverse("billing:receipt_pdf", args=[order.public_id]), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_receipt_pdf_of_another_customers_order_is_not_found(client, customer, line, plans):
    other = LineFactory.create(owner=UserFactory.create())
    [order] = make_orders(other, [plans["basic-10"]], 1)
    client.force_login(customer)

    assert client.get(reverse("billing:receipt_pdf", args=[order.public_id])).status_code == 404


def test_receipt_pdf_of_an_unpaid_order_sends_to_the_order_page(client, customer, line, plans):
    [order] = make_orders(line, [plans["basic-10"]], 1, status=Order.Status.PENDING)
    client.force_login(customer)

    response = client.get(reverse("billing:receipt_pdf", args=[order.public_id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("billing:order", args=[order.public_id])


def test_pending_order_page_has_a_cancel_button_and_a_closed_one_does_not(client, customer, line, plans):
    [pending] = make_orders(line, [plans["basic-10"]], 1, status=Order.Status.PENDING)
    [done] = make_orders(LineFactory.create(owner=customer), [plans["basic-10"]], 1)
    client.force_login(customer)
    cancel = reverse("billing:order_cancel", args=[pending.public_id])

    assert f'action="{cancel}"' in client.get(reverse("billing:order", args=[pending.public_id])).content.decode()
    assert "order-cancel" not in client.get(reverse("billing:order", args=[done.public_id])).content.decode()


def test_cancelling_a_pending_order_cancels_it_and_says_so(client, customer, line, plans):
    [order] = make_orders(line, [plans["basic-10"]], 1, status=Order.Status.PENDING)
    client.force_login(customer)

    response = client.post(reverse("billing:order_cancel", args=[order.public_id]), follow=True)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert "Your order was cancelled. Nothing was charged." in response.content.decode()


def test_cancelling_an_order_with_its_intent_at_stripe_cancels_both(client, customer, line, localstripe):
    order = start_order(client, customer, line)

    client.post(reverse("billing:order_cancel", args=[order.public_id]))

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_cancel_takes_only_a_post_of_the_owner_with_a_csrf_token(client, customer, line, plans):
    [order] = make_orders(line, [plans["basic-10"]], 1, status=Order.Status.PENDING)
    url = reverse("billing:order_cancel", args=[order.public_id])
    client.force_login(customer)
    assert client.get(url).status_code == 405

    stranger = Client()
    stranger.force_login(UserFactory.create())
    assert stranger.post(url).status_code == 404

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer)
    assert strict.post(url).status_code == 403

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_a_closed_order_is_not_cancelled(client, customer, line, plans):
    [order] = make_orders(line, [plans["basic-10"]], 1)
    client.force_login(customer)

    client.post(reverse("billing:order_cancel", args=[order.public_id]))

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
