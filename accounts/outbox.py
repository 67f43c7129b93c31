"""The outbox: notices and their email rows, written in the caller's transaction, and the sending
of those emails (a task queued after commit, and a sweep for whatever it missed)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import EmailDelivery, Line, Notice, User

logger = logging.getLogger(__name__)


def notice_create(
    *,
    user: User,
    kind: str,
    key: str,
    params: dict[str, Any] | None = None,
    link: str = "",
    line: Line | None = None,
    email: bool = True,
) -> Notice | None:
    """Write a notice, and its email row when the customer has an address, in the caller's
    transaction. ``key`` makes it once-only: a second call with the same key writes nothing and
    returns None."""
    with transaction.atomic():
        notice, created = Notice.objects.get_or_create(
            key=key, defaults={"user": user, "kind": kind, "params": params or {}, "link": link, "line": line}
        )
        if not created:
            return None
        if email and user.email:
            delivery = EmailDelivery.objects.create(notice=notice, to=user.email)
            email_deliver_on_commit(delivery.pk)
    return notice


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
    """Queue the sending of an email row once the caller's transaction has committed."""
    transaction.on_commit(lambda: _deliver_soon(delivery_id))


def _deliver_soon(delivery_id: int) -> None:
    """Queue the task that sends a committed outbox email.

    Runs after the commit of the change the email reports, so it must not fail the request or
    task that made it: if the broker cannot take the task, the row stays pending and the outbox
    sweep sends it. One quick retry (a connection gone stale) rather than Celery's default
    back-off, so that a broker outage does not also slow every payment down.
    """
    from accounts.tasks import email_deliver

    try:
        email_deliver.apply_async((delivery_id,), retry_policy={"max_retries": 1, "interval_start": 0})
    except Exception as error:  # whatever the broker or its client raises: the sweep is the fallback
        logger.warning("email %s not queued (%r); the outbox sweep will send it", delivery_id, error)


EMAIL_MAX_ATTEMPTS = 8


def email_backoff(attempts: int) -> timedelta:
    """Wait before the next try: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def email_send(*, delivery_id: int) -> str:
    """Send one outbox email if it is still pending, and record the outcome.

    The row is locked while sending, so two tasks for the same email (a retry, the sweep, a
    worker that died and came back) send it once: the second finds it sent. A failure is
    counted and retried later with backoff, up to ``EMAIL_MAX_ATTEMPTS``. A renewal reminder
    whose line has been renewed since is not sent.
    """
    from accounts.emails import delivery_email

    with transaction.atomic():
        delivery = (
            EmailDelivery.objects.select_for_update(of=("self",))
            .select_related("notice__user", "notice__line", "support_request__user", "support_request__line")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != EmailDelivery.Status.PENDING:
            return "done"
        if _reminder_outdated(delivery.notice):
            delivery.status = EmailDelivery.Status.CANCELLED
            delivery.save(update_fields=["status"])
            return "cancelled"
        delivery.attempts += 1
        try:
            delivery_email(delivery).send()
        except Exception as exc:  # an SMTP server can fail in many ways; each is retried
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:255]
            if delivery.attempts >= EMAIL_MAX_ATTEMPTS:
                delivery.status = EmailDelivery.Status.FAILED
            delivery.next_attempt_at = timezone.now() + email_backoff(delivery.attempts)
            delivery.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return "failed" if delivery.status == EmailDelivery.Status.FAILED else "retry"
        delivery.status = EmailDelivery.Status.SENT
        delivery.sent_at = timezone.now()
        delivery.last_error = ""
        delivery.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    return "sent"


def _reminder_outdated(notice: Notice | None) -> bool:
    if notice is None or notice.kind != Notice.Kind.RENEWAL_REMINDER or notice.line is None:
        return False
    expiry = notice.line.expires_at
    return expiry is None or expiry.isoformat() != notice.params.get("expires_at")


OUTBOX_GRACE = timedelta(minutes=2)
OUTBOX_BATCH = 500


def outbox_due(*, now: datetime | None = None, limit: int = OUTBOX_BATCH) -> list[int]:
    """Emails still pending two minutes after they were written (their task was lost, or failed
    and is due again): one indexed query."""
    now = now or timezone.now()
    return list(
        EmailDelivery.objects.filter(
            status=EmailDelivery.Status.PENDING, next_attempt_at__lte=now, created_at__lte=now - OUTBOX_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
