"""The usage API's signature covers the method and the path, so a signed request is good for its
own address only; the old body-only scheme is taken until a set date; and a post sent again (same
signed request, or same ``Idempotency-Key``) answers the first batch and stores nothing new."""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import TestCase

from plans import usage_keys
from plans.models import UsageBatch, UsageBatchKey
from plans.signing import usage_signature
from tests.factories import LineFactory
from tests.plans.usage_api.network import KEY, URL, post, record, signed_headers

pytestmark = pytest.mark.django_db


def legacy_headers(body: bytes) -> dict[str, str]:
    """Signed the old way, over ``"<timestamp>.<body>"`` only."""
    stamp = str(int(time.time()))
    digest = hmac.new(KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Boom-Timestamp": stamp, "X-Boom-Signature": f"sha256={digest}"}


def batch_body() -> bytes:
    line = LineFactory.create()
    return json.dumps({"records": [record(line, "r-1"), record(line, "r-2")]}).encode()


def post_raw(client, body: bytes, headers: dict[str, str]):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(URL, body, content_type="application/json", headers=headers)


# --- What the signature covers ----------------------------------------------------------------


def test_status_request_signed_for_batch_1_cannot_be_replayed_for_batch_2(client):
    first = post(client, json.loads(batch_body())).json()["batch"]
    line = LineFactory.create()
    second = post(client, {"records": [record(line, "other")]}).json()["batch"]
    path = f"{URL}batches/{first}/"
    headers = signed_headers(b"", method="GET", path=path)

    assert client.get(path, headers=headers).status_code == 200
    replayed = client.get(f"{URL}batches/{second}/", headers=headers)

    assert replayed.status_code == 401
    assert replayed.json() == {"error": "signature does not match"}


def test_post_signed_as_a_get_or_for_another_path_is_401(client):
    body = batch_body()

    as_get = post_raw(client, body, signed_headers(body, method="GET"))
    elsewhere = post_raw(client, body, signed_headers(body, path=f"{URL}batches/1/"))

    assert (as_get.status_code, elsewhere.status_code) == (401, 401)
    assert not UsageBatch.objects.exists()


def test_signature_of_the_documented_text_is_accepted(client):
    body = batch_body()
    stamp = str(int(time.time()))
    text = f"{stamp}.POST.{URL}.".encode() + body
    digest = hmac.new(KEY.encode(), text, hashlib.sha256).hexdigest()

    response = post_raw(client, body, {"X-Boom-Timestamp": stamp, "X-Boom-Signature": f"sha256={digest}"})

    assert response.status_code == 202
    assert usage_signature(key=KEY, timestamp=stamp, method="post", path=URL, body=body) == f"sha256={digest}"


# --- The old scheme, for a stated time --------------------------------------------------------


def test_old_body_only_signature_is_refused_when_no_date_is_set(client, settings):
    settings.USAGE_API_LEGACY_SIGNATURES_UNTIL = None
    body = batch_body()

    assert post_raw(client, body, legacy_headers(body)).status_code == 401
    assert not UsageBatch.objects.exists()


def test_old_body_only_signature_is_accepted_until_the_date_and_refused_from_it(client, settings, caplog):
    today = datetime.now(UTC).date()
    body = batch_body()

    settings.USAGE_API_LEGACY_SIGNATURES_UNTIL = today + timedelta(days=1)
    assert post_raw(client, body, legacy_headers(body)).status_code == 202
    assert "signed the old way" in caplog.text
    path = f"{URL}batches/{UsageBatch.objects.get().pk}/"
    assert client.get(path, headers=legacy_headers(b"")).status_code == 200

    settings.USAGE_API_LEGACY_SIGNATURES_UNTIL = today
    assert client.get(path, headers=legacy_headers(b"")).status_code == 401


# --- A post sent twice ------------------------------------------------------------------------


def test_same_signed_post_sent_again_answers_the_first_batch_and_stores_nothing(client, queued):
    body = batch_body()
    headers = signed_headers(body)

    first = post_raw(client, body, headers)
    again = post_raw(client, body, headers)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert UsageBatch.objects.count() == 1
    assert queued == [first.json()["batch"]]  # no second task either


def test_same_idempotency_key_with_a_fresh_signature_answers_the_first_batch(client, queued):
    body = batch_body()
    first = post_raw(client, body, {**signed_headers(body, timestamp=int(time.time()) - 60), "Idempotency-Key": "k-1"})

    again = post_raw(client, body, {**signed_headers(body), "Idempotency-Key": "k-1"})

    assert again.status_code == 202
    assert again.json()["batch"] == first.json()["batch"]
    assert again.json()["queued"] == 2
    assert UsageBatch.objects.count() == 1


def test_same_idempotency_key_with_another_body_is_409_naming_the_header(client):
    body = batch_body()
    post_raw(client, body, {**signed_headers(body), "Idempotency-Key": "k-1"})
    other = body.replace(b'"r-2"', b'"r-3"')

    response = post_raw(client, other, {**signed_headers(other), "Idempotency-Key": "k-1"})

    assert response.status_code == 409
    assert response.json()["field"] == "Idempotency-Key"
    assert UsageBatch.objects.count() == 1


def test_different_idempotency_keys_store_two_batches(client):
    body = batch_body()
    post_raw(client, body, {**signed_headers(body), "Idempotency-Key": "k-1"})
    post_raw(client, body, {**signed_headers(body), "Idempotency-Key": "k-2"})

    assert UsageBatch.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_malformed_idempotency_key_is_400_naming_the_header(client, key):
    body = batch_body()

    response = post_raw(client, body, {**signed_headers(body), "Idempotency-Key": key})

    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"
    assert not UsageBatch.objects.exists()


def test_a_post_racing_its_twin_rolls_back_and_answers_the_winners_batch(client, queued, monkeypatch):
    body = batch_body()
    first = post_raw(client, body, {**signed_headers(body), "Idempotency-Key": "k-1"}).json()["batch"]
    # The twin checked for the key before the first committed: it finds nothing, stores its
    # batch, and meets the key's unique row.
    real = usage_keys.usage_post_replay
    looks: list[str] = []

    def replay_too_early(*, key: str, body: bytes) -> usage_keys.BatchPosted | None:
        looks.append(key)
        return None if len(looks) <= 2 else real(key=key, body=body)  # the view's and the service's look

    monkeypatch.setattr(usage_keys, "usage_post_replay", replay_too_early)

    response = post_raw(client, body, {**signed_headers(body), "Idempotency-Key": "k-1"})

    assert response.status_code == 202
    assert response.json()["batch"] == first
    assert UsageBatch.objects.count() == UsageBatchKey.objects.count() == 1
    assert queued == [first]
    assert len(looks) == 3
