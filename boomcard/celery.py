"""The Celery app, configured from Django settings (the ``CELERY_`` names in settings.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boomcard.settings")

app = Celery("boomcard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
