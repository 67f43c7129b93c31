"""Refunding an order in the admin as staff do, with Django's test client: open the order's
refund page, fill in the reason, note and amount, continue to the confirmation, confirm."""

from __future__ import annotations

from typing import Any

import requests
from django.test import Client
from django.urls import reverse

from billing.models import Order

# A page the test client got, with its template context.
Response = Any

STRIPE_AUTH = ("sk_test_boom_local", "")


def refund_url(order: Order) -> str:
    return reverse("admin:billing_order_refund", args=[order.pk])


def order_url(order: Order) -> str:
    return reverse("admin:billing_order_change", args=[order.pk])


def refunds_at_stripe(localstripe: str, order: Order) -> list[dict[str, Any]]:
    """Stripe's refunds of the order's payment, newest first."""
    response = requests.get(f"{localstripe}/v1/refunds", params={"limit": 100}, auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return [refund for refund in response.json()["data"] if refund["payment_intent"] == order.payment_intent_id]


def refund_preview(
    client: Client, order: Order, *, amount: str | None = None, reason: str = "requested_by_customer", note: str = ""
) -> Response:
    """Open the refund page, fill it in (the amount as shown, all that is left, unless given) and
    press Continue: the confirmation page, or the form again with its errors."""
    page = client.get(refund_url(order), follow=True)
    assert page.status_code == 200, page.status_code
    if page.redirect_chain:
        return page  # refused before the form: the order's page, with why
    if amount is None:
        amount = str(page.context["form"]["amount"].value())
    return client.post(refund_url(order), {"reason": reason, "note": note, "amount": amount, "_preview": "Continue"})


def confirmation(page: Response) -> dict[str, Any]:
    """What the confirmation page's Confirm button posts: its hidden fields, and the button."""
    assert page.status_code == 200, page.status_code
    assert page.context["preview"] is not None, form_errors(page)
    form = page.context["form"]
    return {**{field.name: field.value() for field in form}, "_confirm": "Confirm refund"}


def form_errors(page: Response) -> list[str]:
    form = page.context["form"]
    return [str(error) for errors in form.errors.values() for error in errors]


def messages_shown(page: Response) -> list[str]:
    return [str(message) for message in page.context["messages"]]


def refund_in_admin(client: Client, order: Order, **fields: Any) -> list[str]:
    """Refund through the page and its confirmation; what staff are shown after: the messages on
    the order's page, or the errors on the form if it did not get that far."""
    preview = refund_preview(client, order, **fields)
    if getattr(preview, "redirect_chain", None):
        return messages_shown(preview)
    if preview.context["preview"] is None:
        return form_errors(preview)
    done = client.post(refund_url(order), confirmation(preview), follow=True)
    assert done.status_code == 200
    if done.redirect_chain:
        return messages_shown(done)
    return form_errors(done)
