"""Orders as the admin's dashboard and export see them, made directly (paid by a method at a
time, failed with a reason), each on a line of its own so open ones do not collide."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import EmailDelivery, SupportRequest, User
from billing.models import Order, Refund
from plans.models import Line, Plan
from tests.factories import LineFactory


def order_make(
    *,
    customer: User,
    plan: Plan,
    status: str = Order.Status.FULFILLED,
    method: str = "card",
    currency: str = "CNY",
    amount_minor: int = 3800,
    created_at: datetime | None = None,
    paid_at: datetime | None = None,
    failure_reason: str = "",
    line: Line | None = None,
) -> Order:
    now = timezone.now()
    created_at = created_at or now
    paid = status in (Order.Status.PAID, Order.Status.FULFILLED, Order.Status.REFUNDED)
    return Order.objects.create(
        user=customer,
        line=line or LineFactory.create(owner=customer),
        plan=plan,
        kind=Order.Kind.RENEWAL,
        amount_minor=amount_minor,
        currency=currency,
        status=status,
        payment_method_type=method,
        failure_reason=failure_reason,
        created_at=created_at,
        paid_at=(paid_at or created_at) if paid else None,
    )


def refund_make(order: Order, amount_minor: int, status: str = Refund.Status.SUCCEEDED) -> Refund:
    return Refund.objects.create(order=order, amount_minor=amount_minor, currency=order.currency, status=status)


def support_request_make(customer: User, message: str = "My eSIM does not install.") -> SupportRequest:
    return SupportRequest.objects.create(user=customer, topic=SupportRequest.Topic.ESIM, message=message)


def email_make(to: str, status: str = EmailDelivery.Status.PENDING) -> EmailDelivery:
    """An outbox row for an email to confirm an address (needs no notice behind it)."""
    return EmailDelivery.objects.create(to=to, status=status)
