"""GET /api/usage/batches/<id>/, the signatures both endpoints ask, and what a body must be: every
bad request is a 4xx with a JSON error naming its field, never a 500."""

import json
import time

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from plans.models import UsageBatch, UsageRecord
from plans.usage import MAX_BATCH
from tests.factories import BucketFactory, LineFactory
from tests.plans.usage_api.network import (
    KEY,
    URL,
    apply_queued,
    post,
    record,
    signed_headers,
    status,
)

pytestmark = pytest.mark.django_db


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
