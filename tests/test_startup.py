"""The servers' processes freeze what they made while starting (boomcard.startup), so that the
garbage collector's full passes walk only what requests and tasks make."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.signals import worker_process_init

from boomcard.startup import collector_paused
from plans.usage import batches, usage_batch_apply

ROOT = Path(__file__).resolve().parent.parent


def frozen_after_import(module: str) -> int:
    """How many objects a fresh Python process has frozen once it has imported ``module``."""
    script = f"import gc, {module}; print(gc.get_freeze_count())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "boomcard.settings"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def test_the_wsgi_and_asgi_entries_freeze_the_loaded_app_and_its_url_patterns():
    # Django, the apps, the libraries and every view the URLs import: tens of thousands.
    assert frozen_after_import("boomcard.wsgi") > 20_000
    assert frozen_after_import("boomcard.asgi") > 20_000


def test_each_celery_worker_process_freezes_once_forked():
    assert gc.get_freeze_count() == 0
    try:
        worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 20_000
    finally:
        gc.unfreeze()


def test_the_collector_is_paused_inside_and_left_as_it_was_after():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        try:
            with collector_paused():
                raise RuntimeError
        except RuntimeError:
            pass
        assert not gc.isenabled()  # the inner one left it as the outer one had it
    assert gc.isenabled()


@pytest.mark.django_db
def test_applying_usage_batches_runs_with_the_collector_paused(monkeypatch):
    seen = []

    def batch_apply(batch_id, now, *, together):
        seen.append(gc.isenabled())
        return "missing"

    monkeypatch.setattr(batches, "_batch_apply", batch_apply)
    assert usage_batch_apply(batch_id=1) == "missing"
    assert seen == [False]
    assert gc.isenabled()
