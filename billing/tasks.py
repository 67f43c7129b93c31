"""Celery tasks of the ``billing`` queue: thin wrappers over billing.sweeps (the clock work) and
billing.services (Stripe's events), each safe to run twice."""

from celery import shared_task

from billing import gateway, services, sweeps

# Stripe not answering while an event is processed: tried again after 10, 20, 40, 80 and 160 s;
# after that the event waits, unprocessed, for the sweep (stripe_events_sweep_task).
STRIPE_EVENT_RETRIES = 5
STRIPE_EVENT_BACKOFF = 10


@shared_task
def renewal_reminders_send_task() -> int:
    return sweeps.renewal_reminders_send()


@shared_task
def auto_renew_run_task() -> int:
    return sweeps.auto_renew_run()


@shared_task
def payments_reconcile_task() -> dict[str, int]:
    return sweeps.payments_reconcile()


@shared_task
def refunds_reconcile_task() -> dict[str, int]:
    return sweeps.refunds_reconcile()


@shared_task(bind=True, max_retries=STRIPE_EVENT_RETRIES)
def stripe_event_process_task(self, event_pk: int) -> str:  # type: ignore[no-untyped-def]
    """Act on one stored Stripe event, once however often this runs (see stripe_event_process)."""
    try:
        return services.stripe_event_process(event_pk=event_pk)
    except gateway.GatewayUnavailable as error:
        raise self.retry(exc=error, countdown=STRIPE_EVENT_BACKOFF * 2**self.request.retries) from error


@shared_task
def stripe_events_sweep_task() -> int:
    """Queue again the Stripe events still unprocessed a while after they arrived (the broker was
    down, a worker was lost, Stripe did not answer through every retry)."""
    due = sweeps.stripe_events_due()
    for event_pk in due:
        stripe_event_process_task.delay(event_pk)
    return len(due)
