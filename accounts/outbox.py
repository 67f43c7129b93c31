"""The outbox: notices and their email rows, written in the caller's transaction, and the sending
of those emails (a task queued after commit, and a sweep for whatever it missed).

Each email is sent at least once while attempts last, and never twice except in one window: the
sender dies after the mail server accepted the message and before the row is marked sent. The
row is then sent again once its lease has run out, with the same Message-ID.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import line_hooks
from accounts.line_hooks import NamedLine, line_fields
from accounts.models import EmailDelivery, Notice, StaffAlert, User
from boomcard.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)


def notice_create(
    *,
    user: User,
    kind: str,
    key: str,
    params: dict[str, Any] | None = None,
    link: str = "",
    line: NamedLine | None = None,
    email: bool = True,
) -> Notice | None:
    """Write a notice, and its email row when the customer has an address, in the caller's
    transaction. ``key`` makes it once-only: a second call with the same key writes nothing and
    returns None. ``line`` is named by its id and number (accounts.line_hooks)."""
    with transaction.atomic():
        notice, created = Notice.objects.get_or_create(
            key=key, defaults={"user": user, "kind": kind, "params": params or {}, "link": link, **line_fields(line)}
        )
        if not created:
            return None
        if email and user.email:
            delivery = EmailDelivery.objects.create(notice=notice, to=user.email)
            email_deliver_on_commit(delivery.pk)
    return notice


def staff_alert_create(*, kind: str, key: str, params: dict[str, Any], link: str = "") -> StaffAlert | None:
    """Write a staff alert and its email to ``SUPPORT_EMAIL`` in the caller's transaction.
    ``key`` makes it once-only: a second call with the same key writes nothing and returns None."""
    with transaction.atomic():
        alert, created = StaffAlert.objects.get_or_create(
            key=key, defaults={"kind": kind, "params": params, "link": link}
        )
        if not created:
            return None
        delivery = EmailDelivery.objects.create(staff_alert=alert, to=settings.SUPPORT_EMAIL)
        email_deliver_on_commit(delivery.pk)
    return alert


def notices_email(*, notices: list[Notice]) -> int:
    """Write the email rows for notices made in bulk (the usage feed), for those whose customer
    has an address and that have none yet. Two queries however many notices."""
    keys = [notice.key for notice in notices]
    fresh = list(
        Notice.objects.filter(key__in=keys, email__isnull=True).exclude(user__email="").values_list("pk", "user__email")
    )
    # A row written meanwhile for the same notice is kept (its address rewritten with the same
    # one), not an error. Not ignore_conflicts: with it PostgreSQL returns no ids, and the emails
    # would wait for the outbox sweep instead of being queued now.
    deliveries = EmailDelivery.objects.bulk_create(
        [EmailDelivery(notice_id=pk, to=address) for pk, address in fresh],
        update_conflicts=True,
        unique_fields=["notice"],
        update_fields=["to"],
    )
    for delivery in deliveries:
        email_deliver_on_commit(delivery.pk)
    return len(fresh)


def email_deliver_on_commit(delivery_id: int) -> None:
    """Queue the sending of an email row once the caller's transaction has committed. If the
    broker cannot take the task, the row stays pending and the outbox sweep sends it."""
    from accounts.tasks import email_deliver_task  # the tasks module imports this one

    enqueue_on_commit(email_deliver_task, delivery_id)


EMAIL_MAX_ATTEMPTS = 8

# How long an email claimed for sending is left to its sender. Once it has run out the sender is
# taken to be dead and the email is due again. Far longer than a send takes: each step of the
# SMTP conversation waits at most EMAIL_TIMEOUT (20 s), and the email task is stopped before the
# lease ends (accounts.tasks.email_deliver_task's time limits), so no sender is still at work then.
EMAIL_SEND_LEASE = timedelta(minutes=2)


def email_backoff(attempts: int) -> timedelta:
    """Wait before the next try: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def email_send(*, delivery_id: int) -> str:
    """Send one outbox email if it is still pending and no other sender holds it, and record the
    outcome: ``sent``, ``retry`` or ``failed`` (after ``EMAIL_MAX_ATTEMPTS`` tries, with backoff
    between them), ``cancelled`` (a renewal reminder whose line has been renewed since),
    ``sending`` (another sender holds it) or ``done`` (nothing left to do).

    Three steps, so that no row is locked and no transaction open while the mail server is
    talked to: claim the row in a short transaction (a lease of ``EMAIL_SEND_LEASE``, the
    attempt counted), send, and record the outcome in its own transaction at once. Calling it
    again, or for the same email at the same time, sends nothing more. The one duplicate: if the
    sender dies after the server accepted the email and before the record, the lease runs out
    and the email is sent again, with the same Message-ID (``accounts.emails``).
    """
    from accounts.emails import delivery_email

    delivery, outcome = _email_claim(delivery_id=delivery_id)
    if delivery is None:
        return outcome
    try:
        delivery_email(delivery).send()
    except Exception as exc:  # an SMTP server can fail in many ways; each is retried
        return _email_failed(delivery, error=f"{type(exc).__name__}: {exc}")
    EmailDelivery.objects.filter(pk=delivery.pk, status=EmailDelivery.Status.PENDING).update(
        status=EmailDelivery.Status.SENT, sent_at=timezone.now(), last_error="", claimed_until=None
    )
    return "sent"


def _email_claim(*, delivery_id: int) -> tuple[EmailDelivery | None, str]:
    """Lock the row just long enough to take it for sending: the row, or None and why not."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            EmailDelivery.objects.select_for_update(of=("self",))
            .select_related(
                "notice__user",
                "support_request__user",
                "staff_alert",
                "support_message__request__user",
                "email_verification_for",
            )
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != EmailDelivery.Status.PENDING:
            return None, "done"
        if delivery.claimed_until is not None and delivery.claimed_until > now:
            return None, "sending"
        if _reminder_outdated(delivery.notice):
            delivery.status = EmailDelivery.Status.CANCELLED
            delivery.claimed_until = None
            delivery.save(update_fields=["status", "claimed_until"])
            return None, "cancelled"
        delivery.attempts += 1
        delivery.claimed_until = now + EMAIL_SEND_LEASE
        delivery.save(update_fields=["attempts", "claimed_until"])
    return delivery, "claimed"


def _email_failed(delivery: EmailDelivery, *, error: str) -> str:
    """Record a failed try on the row this sender still holds (its lease is the token)."""
    gave_up = delivery.attempts >= EMAIL_MAX_ATTEMPTS
    recorded = EmailDelivery.objects.filter(
        pk=delivery.pk, status=EmailDelivery.Status.PENDING, claimed_until=delivery.claimed_until
    ).update(
        status=EmailDelivery.Status.FAILED if gave_up else EmailDelivery.Status.PENDING,
        last_error=error[:255],
        next_attempt_at=timezone.now() + email_backoff(delivery.attempts),
        claimed_until=None,
    )
    if not recorded:  # the lease ran out and another sender took the email over
        return "done"
    return "failed" if gave_up else "retry"


def _reminder_outdated(notice: Notice | None) -> bool:
    """A renewal reminder whose line has been renewed (or deleted) since: plans answers
    (accounts.line_hooks), by the expiry the reminder was written for."""
    if notice is None or notice.kind != Notice.Kind.RENEWAL_REMINDER or notice.line_ref is None:
        return False
    still_due = line_hooks.reminder_still_due
    return still_due is not None and not still_due(notice.line_ref, str(notice.params.get("expires_at", "")))


OUTBOX_GRACE = timedelta(minutes=2)
OUTBOX_BATCH = 500


def outbox_due(*, now: datetime | None = None, limit: int = OUTBOX_BATCH) -> list[int]:
    """Emails still pending two minutes after they were written (their task was lost, or failed
    and is due again), leaving out those a sender holds until its lease runs out: one indexed
    query."""
    now = now or timezone.now()
    return list(
        EmailDelivery.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
            status=EmailDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            created_at__lte=now - OUTBOX_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
