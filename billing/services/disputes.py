"""Disputes: a customer's bank or wallet disputes a payment; the app records it and tells staff.

Nothing is taken from the customer here: the order stays paid and its bucket stays, because a
dispute can be won, and what to do about the customer is the staff's decision (a refund, a
suspended line), made in the admin.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import transaction
from django.urls import reverse

from accounts.models import StaffAlert
from accounts.notice_keys import dispute_alert_key
from accounts.outbox import staff_alert_create
from billing import gateway
from billing.models import Dispute, Order

DISPUTE_EVENTS = {"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"}
FINAL_STAGE = max(Dispute.STAGE.values())


def dispute_record(*, order: Order, answer: gateway.Dispute) -> Dispute:
    """Record what Stripe says of a dispute of ``order``'s payment. The first time the dispute is
    heard of (whichever of its events comes first) it is written together with an email to
    staff (``SUPPORT_EMAIL``, through the outbox), in one transaction; later events only move its
    status forward (a closed dispute stays closed) and keep its evidence date. The same event
    twice, or two at once, record one dispute and one email. Locks only the dispute row; the
    order and its bucket are not touched."""
    with transaction.atomic():
        dispute, created = Dispute.objects.get_or_create(
            stripe_dispute_id=answer.id,
            defaults={
                "order": order,
                "charge_id": answer.charge_id[:255],
                "amount_minor": answer.amount_minor,
                "currency": answer.currency,
                "reason": answer.reason[:64],
                "status": answer.status[:32],
                "evidence_due_by": _moment(answer.evidence_due_by),
                "opened_at": _moment(answer.created),
            },
        )
        if created:
            _staff_tell(dispute, order)
            return dispute
        dispute = Dispute.objects.select_for_update(of=("self",), no_key=True).get(pk=dispute.pk)
        now_stage, new_stage = Dispute.STAGE.get(dispute.status, 0), Dispute.STAGE.get(answer.status)
        if new_stage is None or new_stage < now_stage or now_stage == FINAL_STAGE:
            return dispute
        dispute.status = answer.status
        dispute.reason = answer.reason[:64] or dispute.reason
        dispute.evidence_due_by = _moment(answer.evidence_due_by) or dispute.evidence_due_by
        dispute.save(update_fields=["status", "reason", "evidence_due_by", "updated_at"])
    return dispute


def _staff_tell(dispute: Dispute, order: Order) -> None:
    staff_alert_create(
        kind=StaffAlert.Kind.DISPUTE,
        key=dispute_alert_key(stripe_dispute_id=dispute.stripe_dispute_id),
        link=reverse("admin:billing_order_change", args=[order.pk]),
        params={
            "order": order.public_id,
            "phone": str(order.user.phone),
            "amount_minor": dispute.amount_minor,
            "currency": dispute.currency,
            "reason": dispute.reason,
            "evidence_due_by": dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else "",
            "dispute": dispute.stripe_dispute_id,
        },
    )


def _moment(unix: int | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(unix, tz=UTC) if unix is not None else None
    except (OverflowError, OSError, ValueError):  # not a time Stripe would send
        return None
