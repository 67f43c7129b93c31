"""Cards as the project's launcher extends them in localstripe (billing/localstripe_extras/):
setup_future_usage saves the card, declines in Stripe's shape and a second try, the publishable
key's limits, and test disputes; driven by the real stripe SDK through ``billing.gateway.client()``."""

from collections.abc import Iterator

import pytest
import requests
import stripe

from billing import gateway
from tests.billing.test_localstripe_wallets import EVENTS
from tests.billing.webhook_receiver import Receiver, receiving


@pytest.fixture
def card_events(localstripe: str) -> Iterator[Receiver]:
    with receiving(localstripe, "cards-test", EVENTS) as found:
        yield found


# --- setup_future_usage -------------------------------------------------------------------------


def test_card_paid_with_setup_future_usage_is_attached_to_the_customer(sdk, stripe_customer, card):
    intent = sdk.v1.payment_intents.create(
        params={"amount": 3800, "currency": "hkd", "customer": stripe_customer, "setup_future_usage": "off_session"}
    )
    assert intent.setup_future_usage == "off_session"
    method = card("ok")

    paid = gateway.intent_from_data(sdk.v1.payment_intents.confirm(intent.id, params={"payment_method": method}))

    assert paid.status == "succeeded"
    assert paid.setup_future_usage == "off_session"
    saved = sdk.v1.payment_methods.list(params={"customer": stripe_customer, "type": "card"})
    assert [m.id for m in saved.data] == [method]


def test_card_paid_without_setup_future_usage_is_not_attached(sdk, stripe_customer, card):
    intent = sdk.v1.payment_intents.create(
        params={"amount": 3800, "currency": "hkd", "customer": stripe_customer, "setup_future_usage": "off_session"}
    )
    sdk.v1.payment_intents.update(intent.id, params={"setup_future_usage": ""})

    sdk.v1.payment_intents.confirm(intent.id, params={"payment_method": card("ok")})

    assert sdk.v1.payment_methods.list(params={"customer": stripe_customer, "type": "card"}).data == []


def test_setup_future_usage_given_at_confirm_is_kept(sdk, stripe_customer, card):
    intent = sdk.v1.payment_intents.create(params={"amount": 3800, "currency": "hkd", "customer": stripe_customer})
    paid = sdk.v1.payment_intents.confirm(
        intent.id, params={"payment_method": card("ok"), "setup_future_usage": "off_session"}
    )
    assert paid.setup_future_usage == "off_session"
    assert len(sdk.v1.payment_methods.list(params={"customer": stripe_customer, "type": "card"}).data) == 1


# --- Cards: declines and a second try -----------------------------------------------------------


def test_declined_card_is_a_card_error_with_decline_code_and_a_new_card_pays(sdk, stripe_customer, card):
    intent = sdk.v1.payment_intents.create(params={"amount": 3800, "currency": "hkd", "customer": stripe_customer})
    with pytest.raises(stripe.CardError) as declined:
        sdk.v1.payment_intents.confirm(intent.id, params={"payment_method": card("declined")})

    error = declined.value.error
    assert error is not None
    assert (error.type, error.code, error.decline_code) == ("card_error", "card_declined", "generic_decline")
    assert error.payment_intent is not None
    assert error.payment_intent.id == intent.id
    assert error.payment_intent.status == "requires_payment_method"
    assert gateway.intent_retrieve(intent.id).failure_code == "generic_decline"

    assert sdk.v1.payment_intents.confirm(intent.id, params={"payment_method": card("ok")}).status == "succeeded"


def test_publishable_key_confirms_only_with_the_intents_client_secret(sdk, stripe_customer, card, localstripe):
    intent = sdk.v1.payment_intents.create(params={"amount": 3800, "currency": "hkd", "customer": stripe_customer})
    url = f"{localstripe}/v1/payment_intents/{intent.id}/confirm"

    without = requests.post(url, json={"key": "pk_test_boom_local", "payment_method": card("ok")}, timeout=10)
    wrong = requests.post(
        url,
        json={"key": "pk_test_boom_local", "payment_method": card("ok"), "client_secret": f"{intent.id}_secret_x"},
        timeout=10,
    )
    right = requests.post(
        url,
        json={"key": "pk_test_boom_local", "payment_method": card("ok"), "client_secret": intent.client_secret},
        timeout=10,
    )

    assert without.status_code == 401
    assert wrong.status_code == 400
    assert right.status_code == 200
    assert right.json()["status"] == "succeeded"


# --- Disputes -----------------------------------------------------------------------------------


def test_card_0259_is_paid_then_disputed(sdk, localstripe, card_events):
    method = requests.post(
        f"{localstripe}/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": "4000000000000259",
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
        auth=("sk_test_boom_local", ""),
        timeout=10,
    ).json()["id"]
    intent = sdk.v1.payment_intents.create(
        params={"amount": 3800, "currency": "hkd", "payment_method": method, "confirm": True}
    )
    assert intent.status == "succeeded"

    events = card_events.events_about(intent.id, 2)

    dispute = next(event.data.object for event in events if event.type == "charge.dispute.created")
    assert dispute["object"] == "dispute"
    assert dispute["payment_intent"] == intent.id
    assert dispute["charge"] == intent.to_dict()["latest_charge"]["id"]
    assert (dispute["amount"], dispute["currency"]) == (3800, "hkd")
    assert (dispute["reason"], dispute["status"]) == ("fraudulent", "needs_response")
    assert sdk.v1.disputes.retrieve(dispute["id"]).status == "needs_response"
