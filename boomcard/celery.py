"""The Celery app, configured from Django settings (the ``CELERY_`` names in boomcard/settings/).

Queues by concern: ``email`` (the outbox), ``billing`` (Stripe and its webhook events, reminders,
auto-renew) and ``usage``. Nothing is lost when a worker dies mid-task: tasks are acknowledged late and requeued
if the worker is lost, and every task is safe to run twice. The schedule is ``beat_schedule``.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boomcard.settings")

app = Celery("boomcard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("email"), Queue("billing"), Queue("usage"), Queue("celery"))
app.conf.task_routes = {
    "accounts.tasks.*": {"queue": "email"},
    "billing.tasks.*": {"queue": "billing"},
    "plans.tasks.*": {"queue": "usage"},
}
app.conf.beat_schedule = {
    # A notice and email 7, 3 and 1 days before expiry and at expiry, once each.
    "renewal-reminders": {"task": "billing.tasks.renewal_reminders_send_task", "schedule": crontab(minute=5)},
    # Alert the lines whose data runs out 3 or more days before the plan, at their pace: once a
    # day, at 09:00 in China.
    "runout-alerts": {"task": "plans.tasks.runout_alerts_send_task", "schedule": crontab(hour=1, minute=0)},
    # Charge saved cards for lines expiring within 48 hours.
    "auto-renew": {"task": "billing.tasks.auto_renew_run_task", "schedule": crontab(minute=15)},
    # Ask Stripe about orders pending for over 15 minutes; cancel those over a day old.
    "reconcile-payments": {"task": "billing.tasks.payments_reconcile_task", "schedule": crontab(minute="*/10")},
    # Ask Stripe about refunds not yet confirmed, and find refunds made at Stripe the app missed.
    "reconcile-refunds": {"task": "billing.tasks.refunds_reconcile_task", "schedule": crontab(minute="5-59/10")},
    # Queue again the Stripe events still unprocessed a minute after they arrived.
    "stripe-events": {"task": "billing.tasks.stripe_events_sweep_task", "schedule": crontab(minute="*")},
    # Send any email still unsent two minutes after it was written.
    "redeliver-outbox": {"task": "accounts.tasks.outbox_sweep_task", "schedule": crontab(minute="*/5")},
    # Queue again any usage batch still pending five minutes after it arrived.
    "usage-batches": {"task": "plans.tasks.usage_batches_sweep_task", "schedule": crontab(minute="*/5")},
    # Delete applied usage batches older than USAGE_BATCH_KEEP_DAYS (their records stay).
    "usage-batches-prune": {"task": "plans.tasks.usage_batches_prune_task", "schedule": crontab(hour=3, minute=30)},
}
if os.environ.get("BEAT_EVERY_MINUTE", "").lower() in {"1", "true", "yes"}:
    # The demo (make run): every sweep each minute, so a reminder shows up while you watch.
    for entry in app.conf.beat_schedule.values():
        entry["schedule"] = 60.0
app.autodiscover_tasks()


@worker_process_init.connect
def _startup_objects_freeze(**kwargs: object) -> None:
    """Each worker process, once forked with the app loaded: see boomcard.startup."""
    from boomcard.startup import startup_objects_freeze

    startup_objects_freeze()
