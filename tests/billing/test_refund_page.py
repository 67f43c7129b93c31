"""The refund page of an order in the admin: a reason and a note, all or part of the amount, a
confirmation that says what is taken back, then one refund at Stripe (localstripe), shown on the
order's page and recorded in its history and the audit trail."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice
from billing import services
from billing.models import Order, Refund
from boomcard.formats import MB, data_amount, minutes
from plans.models import Bucket
from tests.billing import test_locking
from tests.billing.refund_pages import (
    STRIPE_AUTH,
    confirmation,
    form_errors,
    messages_shown,
    order_url,
    refund_in_admin,
    refund_preview,
    refund_url,
    refunds_at_stripe,
)
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

stripe_calls = test_locking.stripe_calls  # the fixture: every call to Stripe, and whether in a transaction


def used_some(order: Order) -> Bucket:
    """The customer used part of the order's bucket: 1,000 MB, 10 minutes, 4 SMS."""
    bucket = Bucket.objects.get(order_item__order=order)
    Bucket.objects.filter(pk=bucket.pk).update(data_used=1000 * MB, voice_used=600, sms_used=4)
    bucket.refresh_from_db()
    return bucket


def left(bucket: Bucket) -> tuple[int, int, int]:
    bucket.refresh_from_db()
    return bucket.data_left, bucket.voice_left, bucket.sms_left


def share(amounts: tuple[int, int, int], part: int, whole: int) -> tuple[int, int, int]:
    data, voice, sms = amounts
    return data * part // whole, voice * part // whole, sms * part // whole


def test_partial_refund_takes_back_its_share_then_the_rest_refunds_the_order(
    client, staff, line, fulfilled_order, localstripe
):
    bucket = used_some(fulfilled_order)
    before = left(bucket)
    line.refresh_from_db()
    expiry = line.expires_at
    log_in_with_second_step(client, staff)

    page = refund_preview(client, fulfilled_order, amount="15.20", reason="service_problem", note="No signal 3 days")

    # 15.20 of 38.00 is 40 %: 40 % of what is left of each bucket, said before it is done.
    html = page.content.decode()
    taken = share(before, 1520, 3800)
    assert "40.0%" in html
    assert "¥15.20" in html
    assert "Problem with the service" in html
    [row] = page.context["preview"].buckets
    assert (row.taken.data, row.taken.voice, row.taken.sms) == taken
    assert data_amount(taken[0]) in html
    assert minutes(taken[1]) in html
    assert "The line’s expiry date does not change." in html

    shown = messages_shown(client.post(refund_url(fulfilled_order), confirmation(page), follow=True))

    [at_stripe] = refunds_at_stripe(localstripe, fulfilled_order)
    assert shown == [f"Refunded ¥15.20 (refund {at_stripe['id']})."]
    assert (at_stripe["amount"], at_stripe["status"]) == (1520, "succeeded")
    assert left(bucket) == tuple(b - t for b, t in zip(before, taken, strict=True))
    line.refresh_from_db()
    assert line.expires_at == expiry
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED
    refund = Refund.objects.get(order=fulfilled_order)
    assert (refund.reason_code, refund.note, refund.requested_by, refund.stripe_refund_id) == (
        Refund.Reason.SERVICE_PROBLEM,
        "No signal 3 days",
        staff,
        at_stripe["id"],
    )
    assert refund.taken_back == {"data": taken[0], "voice": taken[1], "sms": taken[2]}
    order_page = client.get(order_url(fulfilled_order)).content.decode()
    for shown_on_page in (at_stripe["id"], "¥15.20", "Refunded", "Problem with the service", "No signal 3 days", "ops"):
        assert shown_on_page in order_page
    assert "¥22.80" in order_page  # left to refund
    assert refund_url(fulfilled_order) in order_page
    # The customer is told of the part given back, by a notice and its email.
    [notice] = Notice.objects.filter(user=fulfilled_order.user, kind=Notice.Kind.REFUNDED)
    assert notice.params["amount_minor"] == 1520
    assert EmailDelivery.objects.filter(notice=notice).count() == 1

    # The rest: all that is left, as the form offers it; the order is refunded, its days given back.
    rest = refund_preview(client, fulfilled_order)
    assert rest.context["preview"].full
    assert "This refunds all that is left of the order." in rest.content.decode()
    shown = messages_shown(client.post(refund_url(fulfilled_order), confirmation(rest), follow=True))

    assert [r["amount"] for r in refunds_at_stripe(localstripe, fulfilled_order)] == [2280, 1520]
    assert shown[0].startswith("Refunded ¥22.80 (refund re_")
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.REFUNDED
    assert left(bucket) == (0, 0, 0)
    line.refresh_from_db()
    assert line.expires_at == expiry - timedelta(days=30)
    assert refund_url(fulfilled_order) not in client.get(order_url(fulfilled_order)).content.decode()


def test_a_second_partial_refund_takes_back_its_share_of_what_is_still_paid_for(
    client, staff, fulfilled_order, localstripe
):
    bucket = used_some(fulfilled_order)
    log_in_with_second_step(client, staff)
    refund_in_admin(client, fulfilled_order, amount="15.20")
    after_first = left(bucket)

    # 11.40 is half of the 22.80 still paid for: half of what is left now.
    shown = refund_in_admin(client, fulfilled_order, amount="11.40", reason="goodwill")

    assert shown[0].startswith("Refunded ¥11.40")
    taken = share(after_first, 1140, 2280)
    assert left(bucket) == tuple(b - t for b, t in zip(after_first, taken, strict=True))
    assert "¥11.40" in client.get(order_url(fulfilled_order)).content.decode()


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("38.01", "At most ¥38.00 is left to refund of this order."),
        ("0", "The amount to refund must be more than 0."),
        ("-5", "The amount to refund must be more than 0."),
        ("abc", "Enter a number."),
        ("1.234", "Ensure that there are no more than 2 decimal places."),
        ("", "This field is required."),
    ],
)
def test_amounts_that_cannot_be_refunded_are_refused_on_the_form(
    client, staff, fulfilled_order, localstripe, amount, error
):
    log_in_with_second_step(client, staff)

    page = refund_preview(client, fulfilled_order, amount=amount)

    assert page.status_code == 200
    assert page.context["preview"] is None
    assert form_errors(page) == [error]
    assert "CNY, ¥" in page.content.decode()  # the currency is shown by the amount
    assert refunds_at_stripe(localstripe, fulfilled_order) == []


def test_more_than_is_left_after_a_partial_refund_is_refused_even_at_the_confirmation(
    client, staff, fulfilled_order, localstripe
):
    log_in_with_second_step(client, staff)
    stale = confirmation(refund_preview(client, fulfilled_order, amount="30.00"))
    refund_in_admin(client, fulfilled_order, amount="15.20")

    # A confirmation shown before the other refund: checked again, refused.
    page = client.post(refund_url(fulfilled_order), stale)

    assert form_errors(page) == ["At most ¥22.80 is left to refund of this order."]
    assert refund_preview(client, fulfilled_order, amount="22.81").context["preview"] is None
    assert [r["amount"] for r in refunds_at_stripe(localstripe, fulfilled_order)] == [1520]


def test_a_reason_is_required_and_other_needs_a_note(client, staff, fulfilled_order, localstripe):
    log_in_with_second_step(client, staff)

    no_reason = refund_preview(client, fulfilled_order, reason="")
    other = refund_preview(client, fulfilled_order, reason="other")
    explained = refund_preview(client, fulfilled_order, reason="other", note="Customer moved abroad")

    assert form_errors(no_reason) == ["This field is required."]
    assert form_errors(other) == ["Say why in the note when the reason is “Other”."]
    assert explained.context["preview"] is not None
    assert "Customer moved abroad" in explained.content.decode()


def test_a_refund_the_payment_service_refuses_shows_why(client, staff, fulfilled_order, localstripe):
    bucket = used_some(fulfilled_order)
    before = left(bucket)
    # 30.00 was given back in Stripe's dashboard, which the app has not heard of yet.
    made = requests.post(
        f"{localstripe}/v1/refunds",
        data={"payment_intent": fulfilled_order.payment_intent_id, "amount": 3000},
        auth=STRIPE_AUTH,
        timeout=10,
    )
    made.raise_for_status()
    log_in_with_second_step(client, staff)

    shown = refund_in_admin(client, fulfilled_order, amount="20.00")

    reason = "Refund amount (2000 cny) is greater than unrefunded amount on charge (800 cny)."
    assert shown == [f"The payment service refused the refund of ¥20.00: {reason}"]
    refund = Refund.objects.get(order=fulfilled_order)
    assert (refund.status, refund.failure_reason) == (Refund.Status.FAILED, reason)
    order_page = client.get(order_url(fulfilled_order)).content.decode()
    assert "Failed" in order_page
    assert reason in order_page
    assert left(bucket) == before
    history = LogEntry.objects.get_for_object(fulfilled_order).get()
    assert history.additional_data["status"] == "failed"
    assert history.changes_dict["refunded"] == ["¥0.00", "¥0.00"]


def test_the_same_confirmation_sent_twice_refunds_once(client, staff, customer, fulfilled_order, localstripe):
    log_in_with_second_step(client, staff)
    confirm = confirmation(refund_preview(client, fulfilled_order, amount="10.00"))

    first = messages_shown(client.post(refund_url(fulfilled_order), confirm, follow=True))
    second = messages_shown(client.post(refund_url(fulfilled_order), confirm, follow=True))

    [at_stripe] = refunds_at_stripe(localstripe, fulfilled_order)
    assert first == second == [f"Refunded ¥10.00 (refund {at_stripe['id']})."]
    assert Refund.objects.filter(order=fulfilled_order).count() == 1
    assert LogEntry.objects.get_for_object(fulfilled_order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_confirmation_from_two_requests_at_once_refunds_once(staff, fulfilled_order, localstripe):
    outcomes: list[Any] = []
    start = threading.Barrier(2)

    def confirm() -> None:
        try:
            start.wait()
            outcomes.append(
                services.order_refund_ask(
                    order=fulfilled_order, amount_minor=1000, reason_code="goodwill", staff=staff, request_key="k" * 32
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcome.created for outcome in outcomes) == [False, True]
    assert len({outcome.refund.pk for outcome in outcomes}) == 1
    assert [r["amount"] for r in refunds_at_stripe(localstripe, fulfilled_order)] == [1000]


def test_each_refund_is_in_the_audit_trail_and_the_orders_history(client, staff, fulfilled_order, localstripe):
    log_in_with_second_step(client, staff)

    refund_in_admin(client, fulfilled_order, amount="15.20", note="Roaming did not work in Japan")

    refund = Refund.objects.get(order=fulfilled_order)
    entry = LogEntry.objects.get_for_object(fulfilled_order).get()
    assert entry.actor == staff
    assert entry.changes_dict == {"refunded": ["¥0.00", "¥15.20"]}
    assert entry.additional_data["action"] == "refund"
    assert entry.additional_data["reason"] == "Requested by the customer: Roaming did not work in Japan"
    assert entry.additional_data["refund"] == refund.stripe_refund_id
    assert entry.additional_data["amount"] == "¥15.20"
    assert entry.timestamp > timezone.now() - timedelta(minutes=1)
    history = client.get(reverse("admin:billing_order_history", args=[fulfilled_order.pk]))
    assert history.status_code == 200
    page = history.content.decode()
    assert str(refund.stripe_refund_id) in page
    assert "Roaming did not work in Japan" in page


@pytest.mark.django_db(transaction=True)
def test_the_refund_page_calls_stripe_with_no_transaction_open(
    client, staff, fulfilled_order, localstripe, stripe_calls
):
    log_in_with_second_step(client, staff)

    refund_in_admin(client, fulfilled_order, amount="15.20")
    refund_in_admin(client, fulfilled_order)

    assert [name for name, _ in stripe_calls if "refund" in name.lower()]
    assert [name for name, in_transaction in stripe_calls if in_transaction] == []
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.REFUNDED
