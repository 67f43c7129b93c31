"""Staff read the usage feed's batches in the admin: the list (pending ones by the dashboard's
link) and each batch, labelled in their language, and change none."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from plans.models import UsageBatch
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

RECORD = ["r-1", "+85251000001", "data", 1024, "HK", "2026-12-02T01:00:00+00:00"]


@pytest.fixture
def desk(client: Client, staff) -> Client:
    log_in_with_second_step(client, staff)
    return client


def test_the_list_shows_pending_batches_and_each_batch_reads_in_chinese(desk, staff):
    pending = UsageBatch.objects.create(records=[RECORD], record_count=1, errors=[{"record": 2, "error": "bad"}])
    UsageBatch.objects.create(
        records=[RECORD], record_count=1, status="applied", applied_at=pending.received_at, report={}
    )
    listed = desk.get(reverse("admin:plans_usagebatch_changelist"), {"status": "pending"})
    assert list(listed.context["cl"].result_list) == [pending]

    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    page = desk.get(reverse("admin:plans_usagebatch_change", args=[pending.pk])).content.decode()
    for label in ("接收时间", "记录数", "接收时被拒的记录", "原始记录"):
        assert label in page
    assert "+85251000001" in page
    assert 'name="_save"' not in page


def test_batches_cannot_be_added_or_deleted(desk):
    batch = UsageBatch.objects.create(records=[RECORD], record_count=1)
    assert desk.get(reverse("admin:plans_usagebatch_add")).status_code == 403
    assert desk.post(reverse("admin:plans_usagebatch_delete", args=[batch.pk]), {"post": "yes"}).status_code == 403
    assert UsageBatch.objects.filter(pk=batch.pk).exists()
