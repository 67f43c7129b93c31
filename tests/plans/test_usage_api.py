"""POST /api/usage/ and GET /api/usage/batches/<id>/: signatures, what a body must be, the answer
the network reads at once (202 and a batch), and what it reads once the batch's task has run."""

import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import EmailDelivery, Notice
from plans import tasks, usage
from plans.models import MB, DailyUsage, Line, UsageBatch, UsageRecord
from plans.signing import usage_signature
from plans.usage import MAX_BATCH
from tests.factories import BucketFactory, LineFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("plans:api_usage")
KEY = "current-usage-key"


@pytest.fixture(autouse=True)
def usage_api_keys(settings):
    settings.USAGE_API_KEYS = [KEY]


@pytest.fixture(autouse=True)
def queued(monkeypatch) -> list[int]:
    """The batches whose task was queued after their commit (run them with ``apply_queued``)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.usage_batch_apply_task, "apply_async", lambda args, **options: ids.extend(args))
    return ids


def apply_queued(queued: list[int]) -> list[str]:
    """Run the queued batches' tasks, as the usage worker would."""
    outcomes = [tasks.usage_batch_apply_task(batch_id) for batch_id in queued]
    queued.clear()
    return outcomes


def signed_headers(
    body: bytes, *, key: str = KEY, timestamp: int | None = None, method: str = "POST", path: str = URL
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = usage_signature(key=key, timestamp=stamp, method=method, path=path, body=body)
    return {"X-Boom-Timestamp": stamp, "X-Boom-Signature": signature}


def post(
    client: Client,
    payload: Any = None,
    *,
    body: bytes | None = None,
    key: str = KEY,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    """POST to the usage API as the network does, signing the body unless told otherwise; the
    batch's task is queued when its transaction commits, as in production."""
    if body is None:
        body = json.dumps(payload).encode()
    headers = signed_headers(body, key=key, timestamp=timestamp)
    if signature is not None:
        headers["X-Boom-Signature"] = signature
    # The test's transaction never commits: run the hooks the request left for its commit.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, body, content_type="application/json", headers=headers)


def status(client: Client, batch_id: int | str, *, key: str = KEY, body: bytes = b"") -> Any:
    """GET a batch's status, signed over the empty body (or ``body``, to sign something else)."""
    path = f"{URL}batches/{batch_id}/"
    # Signed over the path as the server reads it: percent-decoded.
    return client.get(path, headers=signed_headers(body, key=key, method="GET", path=unquote(path)))


def record(line: Line, record_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": record_id,
        "msisdn": line.msisdn.as_e164,
        "kind": "data",
        "amount": MB,
        "country": "HK",
        "at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        **fields,
    }


# --- Accepted at once, applied by the batch's task ------------------------------------------


def test_signed_batch_is_accepted_with_202_and_applied_by_its_task(client, queued):
    line = LineFactory.create()
    home = BucketFactory.create(line=line)

    response = post(client, {"records": [record(line, "a"), record(line, "b", amount=2 * MB)]})

    assert response.status_code == 202
    batch = UsageBatch.objects.get()
    assert response.json() == {
        "batch": batch.pk,
        "status": "pending",
        "status_url": f"/api/usage/batches/{batch.pk}/",
        "queued": 2,
        "rejected": 0,
        "errors": [],
    }
    assert queued == [batch.pk]
    home.refresh_from_db()
    assert home.data_used == 0
    assert not UsageRecord.objects.exists()

    assert apply_queued(queued) == ["applied"]

    home.refresh_from_db()
    assert home.data_used == 3 * MB
    assert DailyUsage.objects.get(line=line).data == 3 * MB
    answer = status(client, batch.pk).json()
    assert (answer["status"], answer["accepted"], answer["duplicate"], answer["rejected"]) == ("applied", 2, 0, 0)
    assert answer["applied_at"] is not None


def test_status_of_a_pending_batch_says_so_and_lists_what_was_rejected_at_once(client):
    line = LineFactory.create()
    batch_id = post(client, {"records": [record(line, "a"), record(line, "b", kind="fax")]}).json()["batch"]

    response = status(client, batch_id)

    assert response.status_code == 200
    answer = response.json()
    assert answer == {
        "batch": batch_id,
        "status": "pending",
        "received_at": answer["received_at"],
        "applied_at": None,
        "queued": 1,
        "accepted": None,
        "duplicate": None,
        "rejected": 1,
        "errors": [{"id": "b", "index": 1, "field": "kind", "reason": "kind must be data, voice or sms"}],
    }


def test_batch_sent_twice_counts_once(client, queued):
    line = LineFactory.create()
    payload = {"records": [record(line, "a"), record(line, "b")]}

    now = int(time.time())
    first = post(client, payload, timestamp=now).json()["batch"]
    # Signed anew (the very same signed request would answer the first batch: test_usage_signing).
    second = post(client, payload, timestamp=now - 1).json()["batch"]
    assert second != first
    apply_queued(queued)

    assert UsageRecord.objects.count() == 2
    assert status(client, first).json()["accepted"] == 2
    answer = status(client, second).json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (0, 2, 0)


def test_record_in_two_batches_counts_once_whichever_is_applied_first(client, queued):
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    first = post(client, {"records": [record(line, "a"), record(line, "b")]}).json()["batch"]
    second = post(client, {"records": [record(line, "b"), record(line, "c")]}).json()["batch"]

    tasks.usage_batch_apply_task(second)
    tasks.usage_batch_apply_task(first)

    home.refresh_from_db()
    assert home.data_used == 3 * MB
    assert [status(client, batch).json()["duplicate"] for batch in (first, second)] == [1, 0]


def test_rejected_records_are_listed_at_once_and_unknown_lines_once_applied(client, queued):
    line = LineFactory.create()

    response = post(
        client,
        {
            "records": [
                record(line, "good"),
                record(line, "late", at="2025-01-01T10:00:00"),
                {"msisdn": line.msisdn.as_e164, "kind": "sms", "amount": 1, "country": "HK"},
                record(line, "stranger", msisdn="+85251999998"),
            ]
        },
    )

    assert response.status_code == 202
    answer = response.json()
    assert (answer["queued"], answer["rejected"]) == (2, 2)
    assert answer["errors"] == [
        {"id": "late", "index": 1, "field": "at", "reason": "time needs a UTC offset"},
        {"id": None, "index": 2, "field": "id", "reason": "id is missing"},
    ]
    apply_queued(queued)
    report = status(client, answer["batch"]).json()
    assert (report["accepted"], report["duplicate"], report["rejected"]) == (1, 0, 3)
    assert report["errors"] == [
        {"id": "late", "index": 1, "field": "at", "reason": "time needs a UTC offset"},
        {"id": None, "index": 2, "field": "id", "reason": "id is missing"},
        {"id": "stranger", "index": 3, "field": "msisdn", "reason": "unknown line"},
    ]


def test_batch_whose_every_record_is_rejected_is_not_stored(client, queued):
    line = LineFactory.create()

    response = post(client, {"records": [record(line, "a", amount=-1)]})

    assert response.status_code == 200
    assert response.json() == {
        "batch": None,
        "queued": 0,
        "rejected": 1,
        "errors": [{"id": "a", "index": 0, "field": "amount", "reason": "amount must not be negative"}],
    }
    assert not UsageBatch.objects.exists()
    assert queued == []


def test_what_the_fast_json_reader_refuses_is_still_read_record_by_record(client, queued):
    """orjson refuses integers past 64 bits and NaN; the standard library reads them, so a
    batch holding one still gets each record judged on its own."""
    line = LineFactory.create()
    good = json.dumps(record(line, "good"))
    huge = json.dumps(record(line, "huge")).replace(f'"amount": {MB}', '"amount": 100000000000000000000000000000')
    not_a_number = json.dumps(record(line, "nan")).replace(f'"amount": {MB}', '"amount": NaN')
    body = f'{{"records": [{good}, {huge}, {not_a_number}]}}'.encode()

    answer = post(client, body=body).json()

    assert (answer["queued"], answer["rejected"]) == (1, 2)
    assert [(error["id"], error["field"]) for error in answer["errors"]] == [("huge", "amount"), ("nan", "amount")]


def test_empty_batch_is_answered_with_zeros_and_stores_nothing(client):
    response = post(client, {"records": []})

    assert response.status_code == 200
    assert response.json() == {"batch": None, "queued": 0, "rejected": 0, "errors": []}
    assert not UsageBatch.objects.exists()


def test_roaming_pack_pays_before_home_plan_and_the_rest_is_overage(client, queued):
    line = LineFactory.create()
    home = BucketFactory.create(line=line, plan=PlanFactory.create(data_mb=2))
    pack = BucketFactory.create(
        line=line, plan=PlanFactory.create(data_mb=1, countries=["JP"], is_addon=True, kind="roaming"), countries=["JP"]
    )

    post(client, {"records": [record(line, "abroad", country="JP", amount=4 * MB)]})
    apply_queued(queued)

    pack.refresh_from_db()
    home.refresh_from_db()
    assert (pack.data_left, home.data_left) == (0, 0)
    assert UsageRecord.objects.get(record_id="abroad").overage == MB
    assert DailyUsage.objects.get(line=line).data_overage == MB


def test_low_data_notice_and_its_email_are_written_when_the_batch_is_applied(client, queued):
    line = LineFactory.create(owner=UserFactory.create(email="someone@example.com"))
    BucketFactory.create(line=line, plan=PlanFactory.create(data_mb=100))

    post(client, {"records": [record(line, "big", amount=80 * MB)]})
    assert not Notice.objects.exists()
    apply_queued(queued)

    notice = Notice.objects.get(kind=Notice.Kind.LOW_BALANCE)
    assert notice.params["threshold"] == 25
    assert EmailDelivery.objects.filter(notice=notice).count() == 1


def test_task_run_twice_applies_the_batch_once(client, queued):
    line = LineFactory.create(owner=UserFactory.create(email="someone@example.com"))
    home = BucketFactory.create(line=line, plan=PlanFactory.create(data_mb=100))
    batch_id = post(client, {"records": [record(line, "a", amount=95 * MB)]}).json()["batch"]

    assert tasks.usage_batch_apply_task(batch_id) == "applied"
    assert tasks.usage_batch_apply_task(batch_id) == "done"

    home.refresh_from_db()
    assert home.data_used == 95 * MB
    assert UsageRecord.objects.count() == 1
    assert DailyUsage.objects.get(line=line).data == 95 * MB
    assert Notice.objects.count() == 2  # 25 % and 10 %, once each
    assert status(client, batch_id).json()["accepted"] == 1


def test_prune_deletes_applied_batches_past_their_keep_days_and_keeps_their_records(client, queued, settings):
    settings.USAGE_BATCH_KEEP_DAYS = 30
    line = LineFactory.create()
    old, recent = (post(client, {"records": [record(line, name)]}).json()["batch"] for name in "ab")
    assert apply_queued(queued) == ["applied", "done"]  # the second applied with the first
    pending = post(client, {"records": [record(line, "c")]}).json()["batch"]
    long_ago = timezone.now() - timedelta(days=31)
    UsageBatch.objects.filter(pk__in=[old, pending]).update(received_at=long_ago)

    assert tasks.usage_batches_prune_task() == 1

    assert set(UsageBatch.objects.values_list("pk", flat=True)) == {recent, pending}  # pending: still to apply
    assert UsageRecord.objects.filter(record_id="a").exists()
    assert status(client, old).status_code == 404


def test_task_for_a_batch_that_does_not_exist_does_nothing():
    assert tasks.usage_batch_apply_task(987654) == "missing"


def test_sweep_queues_batches_pending_five_minutes_after_they_arrived(client, queued, monkeypatch):
    line = LineFactory.create()
    applied = post(client, {"records": [record(line, "c")]}).json()["batch"]
    tasks.usage_batch_apply_task(applied)
    UsageBatch.objects.filter(pk=applied).update(received_at=timezone.now() - timedelta(minutes=6))
    stale = post(client, {"records": [record(line, "a")]}).json()["batch"]
    UsageBatch.objects.filter(pk=stale).update(received_at=timezone.now() - timedelta(minutes=6))
    fresh = post(client, {"records": [record(line, "b")]}).json()["batch"]
    swept: list[int] = []
    monkeypatch.setattr(tasks.usage_batch_apply_task, "delay", swept.append)

    assert tasks.usage_batches_sweep_task() == 1

    assert swept == [stale]
    assert fresh not in usage.usage_batches_due()
    later = timezone.now() + timedelta(minutes=10)
    assert usage.usage_batches_due(now=later) == [stale, fresh]
    tasks.usage_batch_apply_task(stale)  # and fresh with it, pending behind it
    assert usage.usage_batches_due(now=later) == []


# --- The status endpoint --------------------------------------------------------------------


def test_status_of_an_unknown_batch_is_404_naming_the_batch(client):
    for batch_id in ("12345", "9" * 40, "0", "-1", "abc", "1e3", "%E2%80%8B"):
        response = status(client, batch_id)
        assert response.status_code == 404
        assert response.json() == {"error": "no such batch", "field": "batch"}


def test_status_needs_a_signature_over_the_empty_body(client):
    line = LineFactory.create()
    batch_id = post(client, {"records": [record(line, "a")]}).json()["batch"]

    assert client.get(f"{URL}batches/{batch_id}/").status_code == 401
    assert status(client, batch_id, key="someone-elses-key").status_code == 401
    assert status(client, batch_id, body=b"{}").json() == {"error": "signature does not match"}


def test_status_answers_only_get(client):
    response = client.post(f"{URL}batches/1/", b"", content_type="application/json")

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {"error": "use GET"}


# --- Signatures -------------------------------------------------------------------------------


def test_signature_older_than_five_minutes_is_401(client):
    line = LineFactory.create()

    response = post(client, {"records": [record(line, "a")]}, timestamp=int(time.time()) - 301)

    assert response.status_code == 401
    assert "X-Boom-Timestamp" in response.json()["error"]
    assert not UsageRecord.objects.exists()


def test_signature_four_minutes_old_is_accepted(client):
    response = post(client, {"records": []}, timestamp=int(time.time()) - 240)

    assert response.status_code == 200


def test_signature_from_more_than_five_minutes_ahead_is_401(client):
    # Well over: the stamp is whole seconds, and a slow machine may reach the check a second later.
    response = post(client, {"records": []}, timestamp=int(time.time()) + 310)

    assert response.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Boom-Timestamp": "1700000000"},
        {"X-Boom-Signature": "sha256=" + "0" * 64},
    ],
)
def test_missing_signature_is_401(client, headers):
    response = client.post(URL, b'{"records": []}', content_type="application/json", headers=headers)

    assert response.status_code == 401
    assert response.json() == {"error": "X-Boom-Timestamp and X-Boom-Signature headers are required"}


@pytest.mark.parametrize(
    "signature",
    ["sha256=" + "0" * 64, "0" * 64, "sha1=abc", "sha256=not-hex", ""],
)
def test_wrong_or_malformed_signature_is_401(client, signature):
    response = post(client, {"records": []}, signature=signature)

    assert response.status_code == 401
    assert "error" in response.json()


def test_signature_with_an_unknown_key_is_401(client):
    response = post(client, {"records": []}, key="someone-elses-key")

    assert response.status_code == 401
    assert response.json() == {"error": "signature does not match"}


def test_body_changed_after_signing_is_401(client):
    line = LineFactory.create()
    stamp = str(int(time.time()))
    signed = json.dumps({"records": [record(line, "a", amount=1)]}).encode()
    signature = signed_headers(signed, timestamp=int(stamp))["X-Boom-Signature"]

    response = post(
        client, body=signed.replace(b'"amount": 1', b'"amount": 9'), timestamp=int(stamp), signature=signature
    )

    assert response.status_code == 401
    assert not UsageRecord.objects.exists()


def test_timestamp_that_is_not_unix_seconds_is_401(client):
    response = client.post(
        URL,
        b"{}",
        content_type="application/json",
        headers={"X-Boom-Timestamp": "yesterday", "X-Boom-Signature": "sha256=" + "0" * 64},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "X-Boom-Timestamp must be unix seconds"}


def test_signature_with_rotated_second_key_is_accepted(client, settings):
    settings.USAGE_API_KEYS = ["old-key", "new-key"]

    assert post(client, {"records": []}, key="new-key").status_code == 200
    assert post(client, {"records": []}, key="old-key").status_code == 200
    assert post(client, {"records": []}, key=KEY).status_code == 401


def test_no_key_configured_refuses_everything(client, settings):
    settings.USAGE_API_KEYS = []

    assert post(client, {"records": []}, key="").status_code == 401


def test_uppercase_hex_signature_is_accepted(client):
    body = b'{"records": []}'
    stamp = str(int(time.time()))
    digest = signed_headers(body, timestamp=int(stamp))["X-Boom-Signature"].removeprefix("sha256=").upper()

    assert post(client, body=body, signature=f"sha256={digest}", timestamp=int(stamp)).status_code == 200


# --- The request itself -----------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[" * 100_000])
def test_malformed_json_is_400_with_error(client, body):
    response = post(client, body=body)

    assert response.status_code == 400
    assert response.json() == {"error": "body is not JSON", "field": "body"}


@pytest.mark.parametrize("payload", [[], {}, {"records": {}}, {"records": "a,b"}, {"records": None}, "records", 5])
def test_body_without_a_records_list_is_400_naming_records(client, payload):
    response = post(client, payload)

    assert response.status_code == 400
    assert response.json() == {"error": 'body must be an object with a "records" list', "field": "records"}


def test_record_that_is_not_an_object_is_400_naming_it(client):
    line = LineFactory.create()

    response = post(client, {"records": [record(line, "a"), ["b"], "c"]})

    assert response.status_code == 400
    assert response.json() == {"error": "each record must be an object", "field": "records[1]"}
    assert not UsageRecord.objects.exists()


def test_more_than_5000_records_is_400(client):
    line = LineFactory.create()

    response = post(client, {"records": [record(line, f"r{i}") for i in range(MAX_BATCH + 1)]})

    assert response.status_code == 400
    assert response.json() == {"error": "at most 5000 records a request, not 5001", "field": "records"}
    assert not UsageRecord.objects.exists()


def test_5000_records_are_accepted_in_one_request(client, queued):
    lines = LineFactory.create_batch(20)
    for line in lines:
        BucketFactory.create(line=line)

    response = post(client, {"records": [record(lines[i % 20], f"r{i}", amount=1000) for i in range(MAX_BATCH)]})

    assert response.status_code == 202
    assert response.json()["queued"] == MAX_BATCH
    assert UsageBatch.objects.get().record_count == MAX_BATCH
    apply_queued(queued)
    assert UsageRecord.objects.count() == MAX_BATCH


def test_get_is_405(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"error": "use POST"}


def test_no_csrf_token_is_needed():
    response = post(Client(enforce_csrf_checks=True), {"records": []})

    assert response.status_code == 200


def test_body_over_the_upload_limit_is_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = post(client, {"records": [], "padding": "x" * 200})

    assert response.status_code == 413
    assert response.json()["field"] == "body"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)


@hypothesis_settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        _json_values,
        st.fixed_dictionaries({"records": st.lists(_json_values, max_size=4)}),
        st.fixed_dictionaries({"records": st.lists(st.dictionaries(st.text(max_size=8), _json_values), max_size=4)}),
    )
)
def test_any_json_body_gets_a_json_answer_never_a_500(payload):
    response = post(Client(), payload)

    assert response.status_code in {200, 202, 400}
    assert isinstance(response.json(), dict)
