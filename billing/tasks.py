"""Celery tasks for billing's clock work: thin wrappers over billing.sweeps."""

from celery import shared_task

from billing import sweeps


@shared_task
def renewal_reminders() -> int:
    return sweeps.renewal_reminders_send()


@shared_task
def auto_renew() -> int:
    return sweeps.auto_renew_run()


@shared_task
def reconcile_payments() -> dict[str, int]:
    return sweeps.payments_reconcile()


@shared_task
def reconcile_refunds() -> dict[str, int]:
    return sweeps.refunds_reconcile()
