"""What the launcher adds to localstripe (billing/localstripe_extras/), driven by the real stripe
SDK over HTTP against ``manage.py run_localstripe``, as the app and Stripe meet."""

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
import stripe

from billing import gateway
from tests.billing.webhook_receiver import Receiver, receiving

API_KEY = "sk_test_boom_local"


@pytest.fixture
def bare_sdk(localstripe: str) -> stripe.StripeClient:
    """The SDK on its own (not the app's gateway settings), never retrying: each call is one request."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe}, max_network_retries=0)


def intents_at_fake(localstripe: str, api_key: str = API_KEY) -> list[dict[str, Any]]:
    response = requests.get(f"{localstripe}/v1/payment_intents", params={"limit": 100}, auth=(api_key, ""), timeout=10)
    response.raise_for_status()
    return list(response.json()["data"])


@pytest.fixture
def paid_intent(bare_sdk: stripe.StripeClient, card: Callable[[str], str]) -> Callable[[int], Any]:
    """``paid_intent(1000)``: a PaymentIntent paid by card, succeeded, with its charge."""

    def make(amount: int = 1000) -> Any:
        intent = bare_sdk.v1.payment_intents.create(
            params={"amount": amount, "currency": "hkd", "payment_method": card("ok"), "confirm": True}
        )
        assert intent.status == "succeeded"
        return intent

    return make


# --- Idempotency keys -------------------------------------------------------------------------


def test_same_key_and_parameters_replay_the_first_intent(bare_sdk, localstripe):
    params: dict[str, Any] = {"amount": 1500, "currency": "hkd", "metadata": {"order": "o-1"}}
    first = bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "order-o-1"})
    again = bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "order-o-1"})

    assert again.id == first.id
    assert again.client_secret == first.client_secret
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert [intent["id"] for intent in intents_at_fake(localstripe)] == [first.id]


def test_gateway_intent_create_twice_with_one_key_makes_one_intent(localstripe):
    kwargs: dict[str, Any] = {
        "amount_minor": 3800,
        "currency": "HKD",
        "customer_id": gateway.customer_create(
            user_id=41, email="", phone="+85291234567", idempotency_key="customer-41"
        ),
        "order_public_id": "o-41",
        "idempotency_key": "order-o-41-intent",
        "payment_method_types": ["card"],
    }
    assert gateway.intent_create(**kwargs).id == gateway.intent_create(**kwargs).id
    assert len(intents_at_fake(localstripe)) == 1


def test_same_key_with_other_parameters_is_refused(bare_sdk, localstripe):
    first = bare_sdk.v1.payment_intents.create(
        params={"amount": 1500, "currency": "hkd"}, options={"idempotency_key": "order-o-2"}
    )
    with pytest.raises(stripe.IdempotencyError) as refused:
        bare_sdk.v1.payment_intents.create(
            params={"amount": 1600, "currency": "hkd"}, options={"idempotency_key": "order-o-2"}
        )

    assert refused.value.http_status == 400
    assert refused.value.error is not None
    assert refused.value.error.type == "idempotency_error"
    assert str(refused.value.user_message).startswith(
        "Keys for idempotent requests can only be used with the same parameters they were first used with."
    )
    assert [intent["id"] for intent in intents_at_fake(localstripe)] == [first.id]


def test_same_key_on_another_endpoint_is_refused(bare_sdk):
    bare_sdk.v1.payment_intents.create(params={"amount": 1500, "currency": "hkd"}, options={"idempotency_key": "k-3"})
    with pytest.raises(stripe.IdempotencyError) as refused:
        bare_sdk.v1.customers.create(params={"email": "a@example.com"}, options={"idempotency_key": "k-3"})
    assert refused.value.http_status == 400


def test_keys_are_scoped_to_the_api_key(bare_sdk, localstripe):
    other: Any = stripe.StripeClient(
        "sk_test_other_account", base_addresses={"api": localstripe}, max_network_retries=0
    )
    params: dict[str, Any] = {"amount": 1500, "currency": "hkd"}
    mine = bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "k-4"})
    theirs = other.v1.payment_intents.create(params=params, options={"idempotency_key": "k-4"})
    assert mine.id != theirs.id
    assert bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "k-4"}).id == mine.id
    assert other.v1.payment_intents.create(params=params, options={"idempotency_key": "k-4"}).id == theirs.id


def test_wiping_the_fake_forgets_the_keys(bare_sdk, localstripe):
    params: dict[str, Any] = {"amount": 1500, "currency": "hkd"}
    first = bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "k-5"})
    assert bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "k-5"}).id == first.id
    requests.delete(f"{localstripe}/_config/data", timeout=10).raise_for_status()

    after = bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "k-5"})

    assert after.id != first.id
    assert [intent["id"] for intent in intents_at_fake(localstripe)] == [after.id]


def test_key_of_a_request_refused_before_it_ran_can_be_used_again(bare_sdk):
    """Stripe saves an answer only once the endpoint began: a missing customer is not saved."""
    with pytest.raises(stripe.InvalidRequestError):
        bare_sdk.v1.payment_intents.create(
            params={"amount": 1500, "currency": "hkd", "customer": "cus_missing"}, options={"idempotency_key": "k-6"}
        )
    customer = bare_sdk.v1.customers.create(params={"email": "b@example.com"})
    intent = bare_sdk.v1.payment_intents.create(
        params={"amount": 1500, "currency": "hkd", "customer": customer.id}, options={"idempotency_key": "k-6"}
    )
    assert intent.customer == customer.id


def test_key_of_a_server_error_is_not_saved(bare_sdk, card):
    intent = bare_sdk.v1.payment_intents.create(
        params={"amount": 1500, "currency": "hkd", "payment_method": card("ok"), "capture_method": "manual"}
    )
    with pytest.raises(stripe.APIError) as failed:  # localstripe: capturing an intent never confirmed fails
        bare_sdk.v1.payment_intents.capture(intent.id, options={"idempotency_key": "k-7"})
    assert failed.value.http_status == 500

    assert bare_sdk.v1.payment_intents.confirm(intent.id).status == "requires_capture"
    captured = bare_sdk.v1.payment_intents.capture(intent.id, options={"idempotency_key": "k-7"})
    assert captured.status == "succeeded"


def test_declined_payment_is_replayed_not_charged_again(bare_sdk, card, localstripe):
    params = {"amount": 1500, "currency": "hkd", "payment_method": card("declined"), "confirm": True}
    with pytest.raises(stripe.CardError) as first:
        bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "k-8"})
    with pytest.raises(stripe.CardError) as again:
        bare_sdk.v1.payment_intents.create(params=params, options={"idempotency_key": "k-8"})

    assert again.value.http_body == first.value.http_body
    assert len(intents_at_fake(localstripe)) == 1


def test_second_request_while_the_first_runs_gets_409_key_in_use(bare_sdk, localstripe):
    """The first request's body is still arriving when the second comes; then the first finishes
    and the key replays its answer."""
    url = urlparse(localstripe)
    body = b"amount=2500&currency=hkd"
    head = (
        "POST /v1/payment_intents HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n"
        f"Authorization: Bearer {API_KEY}\r\n"
        "Idempotency-Key: k-9\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as slow:
        slow.sendall(head.encode() + body[:7])
        time.sleep(0.3)  # the fake has the headers and waits for the rest of the body

        # The SDK reads a 409 as an APIError (and retries it when max_network_retries > 0).
        with pytest.raises(stripe.APIError) as busy:
            bare_sdk.v1.payment_intents.create(
                params={"amount": 2500, "currency": "hkd"}, options={"idempotency_key": "k-9"}
            )

        slow.sendall(body[7:])
        answer = b""
        while chunk := slow.recv(65536):
            answer += chunk

    assert busy.value.http_status == 409
    assert busy.value.error is not None
    assert busy.value.error.type == "idempotency_error"
    assert busy.value.error.code == "idempotency_key_in_use"
    assert answer.startswith(b"HTTP/1.1 200")
    first_id = json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]
    replay = bare_sdk.v1.payment_intents.create(
        params={"amount": 2500, "currency": "hkd"}, options={"idempotency_key": "k-9"}
    )
    assert replay.id == first_id
    assert [intent["id"] for intent in intents_at_fake(localstripe)] == [first_id]


# --- Refund events ----------------------------------------------------------------------------


@pytest.fixture
def webhook_receiver(localstripe: str) -> Iterator[Receiver]:
    with receiving(localstripe, "extras-test", ["charge.refunded", "refund.created"]) as receiver:
        yield receiver


def test_refund_sends_signed_charge_refunded_and_refund_created(bare_sdk, paid_intent, webhook_receiver):
    intent = paid_intent(1000)

    refund = bare_sdk.v1.refunds.create(params={"payment_intent": intent.id})

    charge_refunded, refund_created = webhook_receiver.events_about(intent.id, 2)
    charge = charge_refunded.data.object
    assert charge_refunded.type == "charge.refunded"
    assert charge["object"] == "charge"
    assert charge["payment_intent"] == intent.id
    assert charge["refunded"] is True
    assert charge["amount_refunded"] == 1000
    assert [r["id"] for r in charge["refunds"]["data"]] == [refund.id]
    assert refund_created.type == "refund.created"
    assert refund_created.data.object["id"] == refund.id
    assert refund_created.data.object["payment_intent"] == intent.id
    assert refund_created.data.object["charge"] == charge["id"]
    assert refund_created.data.object["amount"] == 1000
    assert refund_created.data.object["status"] == "succeeded"


def test_partial_refund_says_refunded_only_once_the_whole_amount_is_back(bare_sdk, paid_intent, webhook_receiver):
    intent = paid_intent(1000)

    bare_sdk.v1.refunds.create(params={"payment_intent": intent.id, "amount": 400})
    rest = bare_sdk.v1.refunds.create(params={"payment_intent": intent.id})  # what remains, as Stripe does

    events = webhook_receiver.events_about(intent.id, 4)
    charges = [event.data.object for event in events if event.type == "charge.refunded"]
    assert [(c["amount_refunded"], c["refunded"]) for c in charges] == [(400, False), (1000, True)]
    assert rest.amount == 600


# --- Refunds refused as Stripe refuses them -----------------------------------------------------


def test_second_full_refund_is_refused_as_already_refunded(bare_sdk, paid_intent):
    intent = paid_intent(1000)
    bare_sdk.v1.refunds.create(params={"payment_intent": intent.id})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        bare_sdk.v1.refunds.create(params={"payment_intent": intent.id})

    assert refused.value.http_status == 400
    assert refused.value.code == "charge_already_refunded"
    assert len(bare_sdk.v1.refunds.list(params={"payment_intent": intent.id}).data) == 1


def test_refund_larger_than_what_remains_is_refused_as_amount_too_large(bare_sdk, paid_intent):
    intent = paid_intent(1000)
    charge = bare_sdk.v1.refunds.create(params={"payment_intent": intent.id, "amount": 300}).charge

    with pytest.raises(stripe.InvalidRequestError) as refused:
        bare_sdk.v1.refunds.create(params={"charge": charge, "amount": 701})

    assert refused.value.http_status == 400
    assert refused.value.code == "amount_too_large"
    assert refused.value.param == "amount"
    assert bare_sdk.v1.refunds.create(params={"charge": charge, "amount": 700}).amount == 700


def test_refund_of_an_intent_never_charged_is_a_400_not_a_server_error(bare_sdk, card):
    intent = bare_sdk.v1.payment_intents.create(
        params={"amount": 1500, "currency": "hkd", "payment_method": card("ok")}
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        bare_sdk.v1.refunds.create(params={"payment_intent": intent.id})
    assert refused.value.http_status == 400


def test_refund_takes_a_reason_and_metadata(bare_sdk, paid_intent):
    intent = paid_intent(1000)
    refund = bare_sdk.v1.refunds.create(
        params={"payment_intent": intent.id, "reason": "requested_by_customer", "metadata": {"order": "o-7"}}
    )
    assert refund.reason == "requested_by_customer"
    assert refund.metadata.to_dict() == {"order": "o-7"}
    assert refund.status == "succeeded"

    with pytest.raises(stripe.InvalidRequestError) as refused:
        bare_sdk.v1.refunds.create(params={"payment_intent": paid_intent(500).id, "reason": "changed_my_mind"})
    assert refused.value.param == "reason"


# --- Listing refunds ----------------------------------------------------------------------------


def test_refunds_listed_by_payment_intent_newest_first_with_pages(bare_sdk, paid_intent):
    intent, other = paid_intent(1000), paid_intent(800)
    first = bare_sdk.v1.refunds.create(params={"payment_intent": intent.id, "amount": 100})
    bare_sdk.v1.refunds.create(params={"payment_intent": other.id})
    second = bare_sdk.v1.refunds.create(params={"payment_intent": intent.id, "amount": 200})

    listing = bare_sdk.v1.refunds.list(params={"payment_intent": intent.id})
    assert listing.object == "list"
    assert [refund.id for refund in listing.data] == [second.id, first.id]
    assert listing.has_more is False

    page = bare_sdk.v1.refunds.list(params={"payment_intent": intent.id, "limit": 1})
    assert [refund.id for refund in page.data] == [second.id]
    assert page.has_more is True
    rest = bare_sdk.v1.refunds.list(params={"payment_intent": intent.id, "limit": 1, "starting_after": second.id})
    assert [refund.id for refund in rest.data] == [first.id]
    assert rest.has_more is False

    by_charge = bare_sdk.v1.refunds.list(params={"charge": first.charge})
    assert [refund.id for refund in by_charge.data] == [second.id, first.id]


def test_refunds_listed_since_a_time(bare_sdk, paid_intent):
    intent = paid_intent(1000)
    refund = bare_sdk.v1.refunds.create(params={"payment_intent": intent.id})

    since_before = bare_sdk.v1.refunds.list(params={"payment_intent": intent.id, "created": {"gte": refund.created}})
    since_after = bare_sdk.v1.refunds.list(params={"payment_intent": intent.id, "created": {"gte": refund.created + 1}})

    assert [r.id for r in since_before.data] == [refund.id]
    assert since_after.data == []


# --- Missing objects ----------------------------------------------------------------------------


def test_missing_intent_is_a_404_resource_missing(bare_sdk):
    with pytest.raises(stripe.InvalidRequestError) as retrieve:
        bare_sdk.v1.payment_intents.retrieve("pi_missing")
    with pytest.raises(stripe.InvalidRequestError) as cancel:
        bare_sdk.v1.payment_intents.cancel("pi_missing")

    for missing in (retrieve.value, cancel.value):
        assert missing.http_status == 404
        assert missing.code == "resource_missing"
        assert missing.param == "intent"
        assert str(missing.user_message) == "No such payment_intent: 'pi_missing'"


def test_intent_for_a_missing_customer_is_a_404_naming_the_parameter(bare_sdk):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        bare_sdk.v1.payment_intents.create(params={"amount": 1500, "currency": "hkd", "customer": "cus_missing"})

    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert missing.value.param == "customer"
    assert str(missing.value.user_message) == "No such customer: 'cus_missing'"


def test_gateway_reports_a_missing_intent_as_resource_missing(localstripe):
    with pytest.raises(gateway.GatewayError) as missing:
        gateway.intent_retrieve("pi_missing")
    assert not isinstance(missing.value, gateway.GatewayUnavailable)
    assert missing.value.code == "resource_missing"
