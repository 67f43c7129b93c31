"""Refunds: staff ask for one, Stripe makes it, the app records what Stripe says.

A refund is written down as requested before Stripe is asked, and asked for with that row's id as
the idempotency key; so a refund that timed out here but happened at Stripe is found by asking
again (the sweep, ``billing.sweeps.refunds_reconcile``), and Stripe's word always wins. Only a
refund Stripe says succeeded makes the order refunded and takes back what is left of its buckets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Notice
from accounts.notice_keys import order_refunded_key
from accounts.outbox import notice_create
from billing import gateway
from billing.models import Order, Refund
from billing.services.items import order_items_withdraw_locked
from billing.services.orders import _move, order_locked

logger = logging.getLogger(__name__)

# Stripe's refund statuses, as the app keeps them.
STATUSES = {
    "succeeded": Refund.Status.SUCCEEDED,
    "pending": Refund.Status.PENDING,
    "requires_action": Refund.Status.PENDING,
    "failed": Refund.Status.FAILED,
    "canceled": Refund.Status.FAILED,
}

METHOD_NAMES = {gateway.ALIPAY: gettext_lazy("Alipay"), gateway.WECHAT_PAY: gettext_lazy("WeChat Pay")}


def order_refund(*, order: Order, reason: str = "") -> Refund:
    """Refund a paid order in full (staff). The refund is recorded as requested, then Stripe is
    asked with no lock held, then its answer is recorded. If Stripe does not answer, the refund
    stays requested and the sweep asks again with the same key: it never raises for that. Raises
    ``ValidationError`` if the order is not paid, is already refunded, or was paid by a wallet
    longer ago than Stripe refunds it (``gateway.REFUND_WINDOW_DAYS``); pressing twice, or two
    staff at once, make one refund (the open one is returned)."""
    with transaction.atomic():
        order = order_locked(order.pk)
        refund = order.refunds.filter(status__in=Refund.OPEN).first()
        if refund is None:
            if order.status == Order.Status.REFUNDED:
                raise ValidationError(_("This order is already refunded."), code="already_refunded")
            if order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
                raise ValidationError(_("Only a paid order can be refunded."), code="not_paid")
            _refund_window_check(order, now=timezone.now())
            refund = Refund.objects.create(
                order=order, amount_minor=order.amount_minor, currency=order.currency, reason=reason[:255]
            )
    return refund_settle(refund=refund)


def _refund_window_check(order: Order, *, now: datetime) -> None:
    days = gateway.REFUND_WINDOW_DAYS.get(order.payment_method_type)
    paid_at = order.paid_at or order.fulfilled_at or order.created_at
    if days is None or now <= paid_at + timedelta(days=days):
        return
    raise ValidationError(
        _("%(method)s payments can be refunded up to %(days)d days after payment; this one was paid on %(date)s.")
        % {
            "method": METHOD_NAMES.get(order.payment_method_type, order.payment_method_type),
            "days": days,
            "date": formats.date_format(timezone.localtime(paid_at), "Y-m-d"),
        },
        code="refund_window_over",
    )


def refund_settle(*, refund: Refund) -> Refund:
    """Ask Stripe about an open refund and record the answer. A refund Stripe has not heard of
    is made now (same idempotency key: never twice); one Stripe refuses because the charge was
    already refunded outside the app is matched to that refund. Stripe out of reach: unchanged."""
    refund = Refund.objects.select_related("order").get(pk=refund.pk)
    if not refund.is_open:
        return refund
    order = refund.order
    try:
        if refund.stripe_refund_id:
            answer = gateway.refund_retrieve(refund.stripe_refund_id)
        else:
            answer = gateway.refund_create(
                intent_id=str(order.payment_intent_id),
                amount_minor=refund.amount_minor,
                idempotency_key=f"refund-{refund.pk}",
                metadata={"order": order.public_id, "refund": str(refund.pk)},
            )
    except gateway.GatewayUnavailable:
        logger.warning("refund %s of order %s: Stripe did not answer; asked again later", refund.pk, order.public_id)
        return refund
    except gateway.GatewayError as refused:
        return _refund_refused(refund, refused)
    refunds_record(order=order, answers=[answer], requested=refund)
    return Refund.objects.get(pk=refund.pk)


def _refund_refused(refund: Refund, refused: gateway.GatewayError) -> Refund:
    """Stripe refused the refund: if its charge already has a refund of this amount the app does
    not know (made in the dashboard, or by a call whose answer was lost), that is this one."""
    try:
        known = gateway.refunds_list(intent_id=str(refund.order.payment_intent_id))
    except gateway.GatewayUnavailable:
        return refund
    recorded = set(Refund.objects.filter(stripe_refund_id__in=[r.id for r in known]).values_list("stripe_refund_id"))
    match = next(
        (
            r
            for r in known
            if (r.id,) not in recorded and r.amount_minor == refund.amount_minor and STATUSES.get(r.status) is not None
        ),
        None,
    )
    if match is not None:
        refunds_record(order=refund.order, answers=[match], requested=refund)
    else:
        with transaction.atomic():
            order_locked(refund.order_id)
            Refund.objects.filter(pk=refund.pk, status__in=Refund.OPEN).update(
                status=Refund.Status.FAILED, failure_reason=refused.message[:255], updated_at=timezone.now()
            )
        logger.error("refund %s of order %s refused by Stripe: %s", refund.pk, refund.order.public_id, refused.code)
    return Refund.objects.get(pk=refund.pk)


def refunds_record(*, order: Order, answers: Iterable[gateway.Refund], requested: Refund | None = None) -> Order:
    """Record what Stripe says of refunds of ``order``'s payment (an answer, a webhook event, a
    listing), once each: a refund the app asked for is found by its id, or by the ``refund``
    in its metadata when the answer was lost; one made outside the app is added. When the
    refunds that succeeded cover the whole amount, the order is refunded (buckets withdrawn,
    notice written), once. Locks the order, then its refunds."""
    answers = [answer for answer in answers if answer.payment_intent_id in ("", order.payment_intent_id)]
    with transaction.atomic():
        order = order_locked(order.pk)
        refunds = {
            refund.pk: refund
            for refund in Refund.objects.select_for_update(of=("self",), no_key=True).filter(order=order).order_by("pk")
        }
        for answer in answers:
            _refund_record_locked(order, answer, refunds, requested)
        refunded = (
            Refund.objects.filter(order=order, status=Refund.Status.SUCCEEDED).aggregate(total=Sum("amount_minor"))[
                "total"
            ]
            or 0
        )
        if refunded >= order.amount_minor and order.status in (Order.Status.PAID, Order.Status.FULFILLED):
            _refunded_locked(order)
        elif refunded and order.status in (Order.Status.PAID, Order.Status.FULFILLED):
            # Part of the money given back at Stripe (a goodwill credit): the buckets stay.
            logger.warning("order %s: %s of %s refunded at Stripe", order.public_id, refunded, order.amount_minor)
    return order


def _refund_record_locked(
    order: Order, answer: gateway.Refund, refunds: dict[int, Refund], requested: Refund | None
) -> None:
    status = STATUSES.get(answer.status)
    if status is None:
        return
    mine = next((r for r in refunds.values() if r.stripe_refund_id == answer.id), None)
    if mine is None:
        asked = _int(answer.metadata.get("refund")) or (requested.pk if requested is not None else None)
        candidate = refunds.get(asked) if asked is not None else None
        if candidate is not None and not candidate.stripe_refund_id:
            mine = candidate
    if mine is None:
        # Made outside the app (Stripe's dashboard): recorded as Stripe has it.
        try:
            with transaction.atomic():
                mine = Refund.objects.create(
                    order=order,
                    amount_minor=answer.amount_minor,
                    currency=answer.currency or order.currency,
                    stripe_refund_id=answer.id,
                    status=status,
                    reason="made at Stripe",
                    succeeded_at=timezone.now() if status == Refund.Status.SUCCEEDED else None,
                )
        except IntegrityError:
            logger.error("order %s: Stripe refund %s could not be recorded", order.public_id, answer.id)
            return
        refunds[mine.pk] = mine
        return
    if mine.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED) and mine.stripe_refund_id == answer.id:
        return  # final already: a late or repeated answer changes nothing
    mine.stripe_refund_id = answer.id
    mine.status = status
    mine.failure_reason = answer.failure_reason[:255] if status == Refund.Status.FAILED else ""
    if status == Refund.Status.SUCCEEDED:
        mine.succeeded_at = mine.succeeded_at or timezone.now()
    mine.save()


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _refunded_locked(order: Order) -> None:
    now = timezone.now()
    order_items_withdraw_locked(order=order, now=now)
    _move(order, Order.Status.REFUNDED, refunded_at=now)
    notice_create(
        user=order.user,
        kind=Notice.Kind.REFUNDED,
        key=order_refunded_key(order_id=order.pk),
        line=order.line,
        link=reverse("billing:order", args=[order.public_id]),
        params={"order": order.public_id, "amount_minor": order.amount_minor, "currency": order.currency},
    )
