"""Celery tasks for the outbox: thin wrappers over accounts.outbox, safe to run twice."""

from celery import shared_task

from accounts import outbox


@shared_task(bind=True, max_retries=outbox.EMAIL_MAX_ATTEMPTS)
def email_deliver(self, delivery_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome = outbox.email_send(delivery_id=delivery_id)
    if outcome == "retry":
        raise self.retry(countdown=outbox.email_backoff(self.request.retries + 1).total_seconds())
    return outcome


@shared_task
def outbox_sweep() -> int:
    """Send again what is still pending (a lost task, a broker outage, a failure now due)."""
    due = outbox.outbox_due()
    for delivery_id in due:
        email_deliver.delay(delivery_id)
    return len(due)
