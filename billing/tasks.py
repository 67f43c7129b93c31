"""Celery tasks for billing's clock work: thin wrappers over billing.sweeps."""

from celery import shared_task

from billing import sweeps


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
