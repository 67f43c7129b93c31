"""Refunds: staff ask for one, Stripe makes it, the app records what Stripe says.

A refund is written down as requested before Stripe is asked, and asked for with that row's id as
the idempotency key; so a refund that timed out here but happened at Stripe is found by asking
again (the sweep, ``billing.sweeps.refunds_reconcile``), and Stripe's word always wins. Only a
refund Stripe says succeeded takes anything back: when the refunds cover the whole amount the
order becomes refunded and what is left of its buckets is withdrawn; a refund of part of it takes
back the same share of what is left (``billing.refund_shares``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Notice
from accounts.notice_keys import order_refunded_key, refund_succeeded_key
from accounts.outbox import notice_create
from billing import gateway
from billing.models import Order, Refund
from billing.refund_shares import order_buckets, order_refund_left, order_refunded
from billing.services.items import order_items_withdraw_locked
from billing.services.orders import _move, order_locked
from boomcard.formats import money
from boomcard.page_cache import pages_changed
from plans.services import Allowance, bucket_take_back_share

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


@dataclass(frozen=True)
class RefundOutcome:
    """What asking for a refund did: the refund as Stripe left it, whether this call made it (a
    confirmation sent again finds the one it made before), and what the order had been given
    back before and after, in minor units."""

    refund: Refund
    created: bool
    refunded_before: int
    refunded_after: int


def order_refund(
    *,
    order: Order,
    amount_minor: int | None = None,
    reason: str = "",
    reason_code: str = "",
    note: str = "",
    staff: Any = None,
    request_key: str = "",
) -> Refund:
    """Refund ``amount_minor`` of a paid order (all that is left when None), for ``staff``, with
    a reason from ``Refund.Reason`` and a note. See ``order_refund_ask``."""
    return order_refund_ask(
        order=order,
        amount_minor=amount_minor,
        reason=reason,
        reason_code=reason_code,
        note=note,
        staff=staff,
        request_key=request_key,
    ).refund


def order_refund_ask(
    *,
    order: Order,
    amount_minor: int | None = None,
    reason: str = "",
    reason_code: str = "",
    note: str = "",
    staff: Any = None,
    request_key: str = "",
) -> RefundOutcome:
    """Refund ``amount_minor`` of a paid order, or all that is left of it. The refund is recorded
    as requested, then Stripe is asked with no lock held, then its answer is recorded. If Stripe
    does not answer, the refund stays requested and the sweep asks again with the same key: it
    never raises for that.

    Raises ``ValidationError`` if the order is not paid, is already refunded, the amount is not
    above 0 or is more than is left to refund (refunds under way count as given), another refund
    of it is still waiting for Stripe's first answer, or it was paid by a wallet longer ago than
    Stripe refunds it (``gateway.REFUND_WINDOW_DAYS``).

    Never twice: the same ``request_key`` (the staff's confirmation sent again) returns the refund
    it made; without a key, a refund still open is returned (pressing twice, two staff at once)."""
    with transaction.atomic():
        order = order_locked(order.pk)
        before = order_refunded(order=order)
        refund = _refund_open_locked(order, request_key)
        created = refund is None
        if refund is None:
            left = _refund_checks(order, amount_minor)
            refund = Refund.objects.create(
                order=order,
                amount_minor=left if amount_minor is None else amount_minor,
                currency=order.currency,
                reason=reason[:255],
                reason_code=reason_code,
                note=note[:1000],
                requested_by=staff,
                request_key=request_key or None,
            )
    refund = refund_settle(refund=refund)
    return RefundOutcome(
        refund=refund, created=created, refunded_before=before, refunded_after=order_refunded(order=order)
    )


def _refund_open_locked(order: Order, request_key: str) -> Refund | None:
    """The refund this request already made (same key), or for a request without a key, the
    order's refund still open; None when a new one is to be made."""
    if request_key:
        made = Refund.objects.filter(request_key=request_key).first()
        if made is not None and made.order_id != order.pk:
            raise ValidationError(_("This confirmation belongs to another order."), code="wrong_order")
        if made is None and order.refunds.filter(status=Refund.Status.REQUESTED).exists():
            raise ValidationError(
                _(
                    "Another refund of this order is still waiting for the payment service's answer. "
                    "It is asked again within minutes; look at the order again then."
                ),
                code="refund_under_way",
            )
        return made
    return order.refunds.filter(status__in=Refund.OPEN).first()


def order_refund_check(*, order: Order, amount_minor: int | None = None) -> int:
    """What is left to refund of ``order``, if ``amount_minor`` of it (or all that is left) may be
    refunded now; else the ``ValidationError`` ``order_refund_ask`` would raise. Makes nothing
    and locks nothing: for a page to say before staff confirm (the refund checks again)."""
    return _refund_checks(Order.objects.get(pk=order.pk), amount_minor)


def _refund_checks(order: Order, amount_minor: int | None) -> int:
    """What is left to refund of the locked order, once it may be refunded at all."""
    if order.status == Order.Status.REFUNDED:
        raise ValidationError(_("This order is already refunded."), code="already_refunded")
    if order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        raise ValidationError(_("Only a paid order can be refunded."), code="not_paid")
    left = order_refund_left(order=order)
    if left <= 0:
        raise ValidationError(_("Nothing is left to refund of this order."), code="nothing_left")
    if amount_minor is not None and amount_minor <= 0:
        raise ValidationError(_("The amount to refund must be more than 0."), code="amount_not_positive")
    if amount_minor is not None and amount_minor > left:
        raise ValidationError(
            _("At most %(left)s is left to refund of this order.") % {"left": money(left, order.currency)},
            code="amount_too_large",
        )
    _refund_window_check(order, now=timezone.now())
    return left


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
                reason=refund.reason_code,
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
            pages_changed([refund.order.user_id])  # an update sends no signal (billing.signals)
        logger.error("refund %s of order %s refused by Stripe: %s", refund.pk, refund.order.public_id, refused.code)
    return Refund.objects.get(pk=refund.pk)


def refunds_record(*, order: Order, answers: Iterable[gateway.Refund], requested: Refund | None = None) -> Order:
    """Record what Stripe says of refunds of ``order``'s payment (an answer, a webhook event, a
    listing), once each: a refund the app asked for is found by its id, or by the ``refund``
    in its metadata when the answer was lost; one made outside the app is added. When the
    refunds that succeeded cover the whole amount, the order is refunded (buckets withdrawn,
    notice written), once; a refund the app asked for that gives back only part of it takes back
    that share of what is left of its buckets, once (when Stripe first says it succeeded). Locks
    the order, then its refunds."""
    answers = [answer for answer in answers if answer.payment_intent_id in ("", order.payment_intent_id)]
    with transaction.atomic():
        order = order_locked(order.pk)
        refunds = {
            refund.pk: refund
            for refund in Refund.objects.select_for_update(of=("self",), no_key=True).filter(order=order).order_by("pk")
        }
        succeeded = [
            refund for answer in answers if (refund := _refund_record_locked(order, answer, refunds, requested))
        ]
        refunded = order_refunded(order=order)
        if refunded >= order.amount_minor and order.status in (Order.Status.PAID, Order.Status.FULFILLED):
            _refunded_locked(order)
        elif refunded and order.status in (Order.Status.PAID, Order.Status.FULFILLED):
            _shares_take_back_locked(order, succeeded, refunded)
    return order


def _shares_take_back_locked(order: Order, succeeded: list[Refund], refunded: int) -> None:
    """Each refund that has just succeeded takes back its share of what was still paid for when
    it did (in the order they were asked for), from every bucket the order made. Refunds made at
    Stripe's dashboard are not among them: money given back there (a goodwill credit) leaves the
    buckets alone."""
    if not succeeded:
        logger.warning("order %s: %s of %s refunded at Stripe", order.public_id, refunded, order.amount_minor)
        return
    now = timezone.now()
    paid = order.amount_minor - refunded + sum(refund.amount_minor for refund in succeeded)
    buckets = order_buckets(order=order)
    for refund in sorted(succeeded, key=lambda refund: refund.pk):
        taken = Allowance()
        for bucket in buckets:
            taken += bucket_take_back_share(bucket=bucket, part=refund.amount_minor, whole=paid, now=now)
        refund.taken_back = {"data": taken.data, "voice": taken.voice, "sms": taken.sms}
        refund.save(update_fields=["taken_back", "updated_at"])
        paid -= refund.amount_minor
        # The customer hears of a part given back as of a whole one: a notice and its email.
        notice_create(
            user=order.user,
            kind=Notice.Kind.REFUNDED,
            key=refund_succeeded_key(refund_id=refund.pk),
            line=order.line,
            link=reverse("billing:order", args=[order.public_id]),
            params={"order": order.public_id, "amount_minor": refund.amount_minor, "currency": order.currency},
        )


def _refund_record_locked(
    order: Order, answer: gateway.Refund, refunds: dict[int, Refund], requested: Refund | None
) -> Refund | None:
    """Record one answer; the app's own refund when this answer is the one that made it succeed."""
    status = STATUSES.get(answer.status)
    if status is None:
        return None
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
            return None
        refunds[mine.pk] = mine
        return None
    if mine.status in (Refund.Status.SUCCEEDED, Refund.Status.FAILED) and mine.stripe_refund_id == answer.id:
        return None  # final already: a late or repeated answer changes nothing
    newly_succeeded = status == Refund.Status.SUCCEEDED and mine.status != Refund.Status.SUCCEEDED
    mine.stripe_refund_id = answer.id
    mine.status = status
    mine.failure_reason = answer.failure_reason[:255] if status == Refund.Status.FAILED else ""
    if status == Refund.Status.SUCCEEDED:
        mine.succeeded_at = mine.succeeded_at or timezone.now()
    mine.save()
    return mine if newly_succeeded else None


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
