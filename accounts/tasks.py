"""Celery tasks: thin wrappers over the outbox and the registration warning."""

from celery import shared_task

from accounts import outbox
from accounts.registration import email_in_use_warn

# Stopped before the email's lease runs out (soft: an error inside the send, recorded and
# retried; hard: the process is killed), so that no sender is still at work when the lease ends
# and the sweep sends the email again.
SEND_SOFT_TIME_LIMIT = 60
SEND_TIME_LIMIT = 90


@shared_task(
    bind=True,
    max_retries=outbox.EMAIL_MAX_ATTEMPTS,
    soft_time_limit=SEND_SOFT_TIME_LIMIT,
    time_limit=SEND_TIME_LIMIT,
)
def email_deliver_task(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome = outbox.email_send(delivery_id=delivery_id)
    if outcome == "retry":
        raise self.retry(countdown=outbox.email_backoff(self.request.retries + 1).total_seconds())
    return outcome


@shared_task
def outbox_sweep_task() -> int:
    """Send again what is still pending (a lost task, a broker outage, a failure now due, a sender
    that died while holding an email)."""
    due = outbox.outbox_due()
    for delivery_id in due:
        email_deliver_task.delay(delivery_id)
    return len(due)


@shared_task
def email_in_use_warn_task(user_id: int) -> None:
    """The SMS to an account whose email someone tried to register with."""
    email_in_use_warn(user_id=user_id)
