"""Celery tasks for the usage feed (the ``usage`` queue): thin wrappers over plans.usage, safe to
run twice."""

from celery import shared_task

from plans import runout, usage


@shared_task
def usage_batch_apply_task(batch_id: int) -> str:
    return usage.usage_batch_apply(batch_id=batch_id)


@shared_task
def usage_batches_prune_task() -> int:
    return usage.usage_batches_prune()


@shared_task
def usage_batches_sweep_task() -> int:
    """Queue again the batches still pending a while after they arrived (a lost task, a broker
    outage): applying one twice changes nothing."""
    due = usage.usage_batches_due()
    for batch_id in due:
        usage_batch_apply_task.delay(batch_id)
    return len(due)


@shared_task
def runout_alerts_send_task() -> int:
    """The morning's alerts for lines whose data runs out early at their pace (plans.runout)."""
    return runout.runout_alerts_send()
