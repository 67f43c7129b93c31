"""No body sent to the usage API or to Stripe's webhook gives a server error, signed or not."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from billing import services as billing
from plans.signing import usage_signature
from tests.billing.stripe_events import events_process, stripe_signature
from tests.reliability.fuzz.site import Site, no_server_error
from tests.reliability.fuzz.values import FUZZ_API, headers_text, json_objects, json_values, numberish, phones

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


# --- The usage API ------------------------------------------------------------------------------


def _usage_post(body: bytes, headers: dict[str, str] | None = None) -> Any:
    if headers is None:
        timestamp = str(int(time.time()))
        key = django_settings.USAGE_API_KEYS[0]
        signature = usage_signature(
            key=key, timestamp=timestamp, method="POST", path=reverse("plans:api_usage"), body=body
        )
        headers = {"X-Boom-Timestamp": timestamp, "X-Boom-Signature": signature}
    return Client().post(reverse("plans:api_usage"), data=body, content_type="application/json", headers=headers)


def _records(site: Site) -> st.SearchStrategy[dict[str, Any]]:
    """Batches shaped like the network's, with any value in any field."""
    times = st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda at: at.isoformat()),
        st.sampled_from(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2026-01-01", "yesterday"]),
    )
    value = st.one_of(json_values, st.integers(min_value=-(2**70), max_value=2**70))
    record = st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.text(max_size=70), st.integers(), value),
            "msisdn": st.one_of(st.sampled_from([str(site.line.msisdn), str(site.other_line.msisdn)]), phones, value),
            "iccid": st.one_of(st.just(site.line.iccid), st.from_regex(r"[0-9]{18,21}", fullmatch=True), value),
            "kind": st.one_of(st.sampled_from(["data", "voice", "sms", "DATA"]), value),
            "amount": st.one_of(st.integers(min_value=-(10**15), max_value=10**15), value),
            "country": st.one_of(st.sampled_from(["CN", "hk", "JP", "XK", "ZZ", "ＣＮ"]), value),
            "at": st.one_of(times, value),
        },
    )
    return st.fixed_dictionaries({"records": st.lists(st.one_of(record, value), max_size=8)})


def test_no_signed_usage_batch_gives_a_server_error(site: Site) -> None:
    @FUZZ_API
    @given(batch=st.one_of(_records(site), json_values))
    def post(batch: Any) -> None:
        no_server_error(_usage_post(json.dumps(batch).encode()))

    post()


def test_no_signed_usage_body_of_arbitrary_bytes_gives_a_server_error() -> None:
    @FUZZ_API
    @given(body=st.binary(max_size=2000))
    def post(body: bytes) -> None:
        no_server_error(_usage_post(body))

    post()


def test_no_unsigned_usage_request_gives_a_server_error() -> None:
    @FUZZ_API
    @given(
        body=st.binary(max_size=500),
        headers=st.fixed_dictionaries(
            {}, optional={"X-Boom-Timestamp": st.one_of(headers_text, numberish), "X-Boom-Signature": headers_text}
        ),
    )
    def post(body: bytes, headers: dict[str, str]) -> None:
        response = _usage_post(body, headers)
        no_server_error(response)
        assert response.status_code == 401

    post()


def _usage_status_get(batch_id: str, headers: dict[str, str] | None = None) -> Any:
    if headers is None:
        timestamp = str(int(time.time()))
        key = django_settings.USAGE_API_KEYS[0]
        # Signed over the path as the server reads it, percent-decoded.
        path = f"/api/usage/batches/{batch_id}/"
        signature = usage_signature(key=key, timestamp=timestamp, method="GET", path=path, body=b"")
        headers = {"X-Boom-Timestamp": timestamp, "X-Boom-Signature": signature}
    return Client().get(f"/api/usage/batches/{quote(batch_id, safe='')}/", headers=headers)


def test_no_batch_status_request_gives_a_server_error() -> None:
    batch_ids = st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str), numberish, st.text(max_size=40).filter(bool)
    )

    @FUZZ_API
    @given(
        batch_id=batch_ids,
        headers=st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={"X-Boom-Timestamp": st.one_of(headers_text, numberish), "X-Boom-Signature": headers_text}
            ),
        ),
    )
    def get(batch_id: str, headers: dict[str, str] | None) -> None:
        response = _usage_status_get(batch_id, headers)
        no_server_error(response)
        # 404 for an id the route does not take (a "/" in it): the site's page, not the API's.
        assert response.status_code in ({404} if headers is None else {401, 404}), response.content[:300]
        if response["Content-Type"] == "application/json":
            assert isinstance(response.json(), dict)

    get()


# --- Stripe's webhook ---------------------------------------------------------------------------


def _webhook_post(body: bytes, signature: str | None = None) -> Any:
    headers = {"Stripe-Signature": stripe_signature(body) if signature is None else signature}
    return Client().post(reverse("billing:stripe_webhook"), data=body, content_type="application/json", headers=headers)


def _events(site: Site) -> st.SearchStrategy[dict[str, Any]]:
    """Events shaped like Stripe's, with any value in any field, some about a real order."""
    intent_id = str(site.open_order.payment_intent_id)
    ids = st.one_of(st.just(intent_id), st.text(max_size=300), json_values)
    obj = st.fixed_dictionaries(
        {"object": st.one_of(st.sampled_from(["payment_intent", "charge", "customer"]), json_values)},
        optional={
            "id": ids,
            "payment_intent": ids,
            "status": st.one_of(st.sampled_from(["succeeded", "canceled", "requires_action"]), json_values),
            "amount": st.one_of(st.integers(), json_values),
            "currency": st.one_of(st.sampled_from(["cny", "usd"]), json_values),
            "refunded": st.one_of(st.booleans(), json_values),
            "metadata": json_values,
            "last_payment_error": json_values,
        },
    )
    kinds = st.one_of(st.sampled_from([*sorted(billing.HANDLED_EVENTS), "customer.created", ""]), st.text(max_size=300))
    return st.fixed_dictionaries(
        {"id": st.one_of(st.text(max_size=300), json_values), "type": st.one_of(kinds, json_values)},
        optional={"object": st.just("event"), "data": st.one_of(st.fixed_dictionaries({"object": obj}), json_values)},
    )


def test_no_signed_webhook_event_gives_a_server_error_nor_fails_its_processing(site: Site) -> None:
    """The webhook answers without a 5xx, and whatever it stored, the worker's task processes
    without raising (run here, in-process, as the worker would)."""

    @FUZZ_API
    @given(event=st.one_of(_events(site), json_objects, json_values))
    def post(event: Any) -> None:
        no_server_error(_webhook_post(json.dumps(event).encode()))
        events_process()

    post()


def test_no_unsigned_webhook_body_gives_a_server_error() -> None:
    @FUZZ_API
    @given(body=st.binary(max_size=2000), signature=headers_text)
    def post(body: bytes, signature: str) -> None:
        response = _webhook_post(body, signature)
        no_server_error(response)
        assert response.status_code == 400

    post()


# --- Bodies no strategy above makes --------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000  # nested deeper than any parser's recursion limit


@pytest.mark.parametrize(
    "body", [DEEP, b'{"records": ' + DEEP + b"}", b"\xff\xfe{", b'{"id": "evt_1", "type": "x", "data": NaN}']
)
def test_signed_bodies_too_deep_or_not_utf8_give_no_server_error(body: bytes) -> None:
    no_server_error(_usage_post(body))
    no_server_error(_webhook_post(body))
