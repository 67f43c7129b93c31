"""The stand-in Stripe.js the launcher serves (billing/localstripe_extras/stripe_js.js), in Chromium:
a shop page on its own origin mounts the card element and calls Stripe.js as the app's pages do,
on intents the test makes through the gateway's client."""

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe
from playwright.sync_api import Page

from billing import gateway

CARDS = {"ok": "4242424242424242", "3ds": "4000002500003155", "declined": "4000000000000341"}
# Counts the 3-D Secure boxes the script opens, to see it asks once.
COUNT_BOXES = """
window.boxes = 0;
new MutationObserver(changes => changes.forEach(change => change.addedNodes.forEach(node => {
  if (node.innerText && node.innerText.includes('3D Secure')) window.boxes++;
}))).observe(document.body, {childList: true});
"""


@pytest.fixture
def shop(page: Page, localstripe: str) -> Iterator[Callable[[str], Page]]:
    """``shop("ok")``: the shop's page with the card element mounted and that card typed in. The
    page is served from 127.0.0.1 as the site is: Chromium keeps a public page from loopback."""
    html = f"""<!doctype html><html><body><form><div id="card"></div></form>
<script src="{localstripe}/js.stripe.com/v3/"></script>
<script>
  window.stripe = Stripe('pk_test_boom_local');
  window.card = stripe.elements().create('card');
  card.mount('#card');
</script></body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/pay"

    def open_with(card: str) -> Page:
        page.goto(url)
        page.evaluate(COUNT_BOXES)
        for field, value in (("number", CARDS[card]), ("exp_month", "12"), ("exp_year", "34"), ("cvc", "123")):
            page.fill(f"#card input[placeholder={field}]", value)
        return page

    yield open_with
    server.shutdown()
    server.server_close()


def start(page: Page, call: str, secret: str) -> None:
    """Call Stripe.js without waiting: a 3-D Secure box may need a click before it resolves."""
    page.evaluate(f"secret => {{ window.result = null; {call}.then(r => {{ window.result = r; }}); }}", secret)


def result(page: Page) -> dict[str, Any]:
    page.wait_for_function("window.result !== null")
    found: dict[str, Any] = page.evaluate("window.result")
    return found


def card_intent(sdk: Any) -> Any:
    customer = sdk.v1.customers.create(params={"email": "buyer@example.com"})
    return sdk.v1.payment_intents.create(
        params={"amount": 3800, "currency": "hkd", "customer": customer.id, "setup_future_usage": "off_session"}
    )


CONFIRM = "stripe.confirmCardPayment(secret, {payment_method: {card: window.card}})"


def test_confirm_card_payment_with_the_card_element_pays(shop, sdk):
    intent = card_intent(sdk)
    page = shop("ok")

    start(page, CONFIRM, intent.client_secret)
    answer = result(page)

    assert "error" not in answer
    assert answer["paymentIntent"]["id"] == intent.id
    assert answer["paymentIntent"]["status"] == "succeeded"
    paid = gateway.intent_retrieve(intent.id)
    assert paid.status == "succeeded"
    assert gateway.card_details(paid.payment_method_id).last4 == "4242"
    assert page.evaluate("window.boxes") == 0
    saved = sdk.v1.payment_methods.list(params={"customer": intent.customer, "type": "card"})
    assert [method.id for method in saved.data] == [paid.payment_method_id]  # setup_future_usage


def test_declined_card_resolves_with_a_card_error(shop, sdk):
    intent = card_intent(sdk)
    page = shop("declined")

    start(page, CONFIRM, intent.client_secret)
    error = result(page)["error"]

    assert (error["type"], error["code"], error["decline_code"]) == ("card_error", "card_declined", "generic_decline")
    assert error["message"]
    assert error["payment_intent"]["id"] == intent.id
    assert error["payment_intent"]["status"] == "requires_payment_method"


def test_3d_secure_card_shows_the_box_once_and_pays(shop, sdk):
    intent = card_intent(sdk)
    page = shop("3ds")

    start(page, CONFIRM, intent.client_secret)
    page.get_by_role("button", name="Complete authentication").click()
    answer = result(page)

    assert answer["paymentIntent"]["status"] == "succeeded"
    assert page.evaluate("window.boxes") == 1
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_3d_secure_failed_resolves_with_authentication_failure(shop, sdk):
    intent = card_intent(sdk)
    page = shop("3ds")

    start(page, CONFIRM, intent.client_secret)
    page.get_by_role("button", name="Fail authentication").click()
    error = result(page)["error"]

    assert error["code"] == "payment_intent_authentication_failure"
    assert error["type"] == "invalid_request_error"
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert page.evaluate("window.boxes") == 1


def test_confirm_card_payment_finishes_an_intent_the_server_confirmed(shop, sdk, localstripe):
    """The page's older flow: the server confirmed with a 3-D Secure card, the page finishes it."""
    intent = card_intent(sdk)
    method = sdk.v1.payment_methods.create(
        params={"type": "card", "card": {"number": CARDS["3ds"], "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
    )
    confirmed = gateway.intent_from_data(
        sdk.v1.payment_intents.confirm(intent.id, params={"payment_method": method.id})
    )
    assert confirmed.status == "requires_action"
    page = shop("ok")

    start(page, "stripe.confirmCardPayment(secret)", intent.client_secret)
    page.get_by_role("button", name="Complete authentication").click()

    assert result(page)["paymentIntent"]["status"] == "succeeded"


def test_confirm_card_setup_still_saves_a_card(shop, sdk):
    customer = sdk.v1.customers.create(params={"email": "renew@example.com"})
    setup = sdk.v1.setup_intents.create(params={"customer": customer.id, "usage": "off_session"})
    page = shop("ok")

    start(page, "stripe.confirmCardSetup(secret, {payment_method: {card: window.card}})", setup.client_secret)
    answer = result(page)

    assert answer["setupIntent"]["status"] == "succeeded"
    assert answer["setupIntent"]["payment_method"].startswith("pm_")


def test_create_payment_method_makes_a_card(shop):
    page = shop("ok")

    start(page, "stripe.createPaymentMethod({type: 'card', card: window.card})", "")
    method = result(page)["paymentMethod"]

    assert method["id"].startswith("pm_")
    assert method["type"] == "card"
    assert method["card"]["last4"] == "4242"


def test_publishable_key_cannot_read_an_intent_without_its_secret(localstripe, sdk):
    import requests

    intent = card_intent(sdk)
    url = f"{localstripe}/v1/payment_intents/{intent.id}"
    assert requests.get(url, params={"key": "pk_test_boom_local"}, timeout=10).status_code == 401
    with_secret = requests.get(
        url, params={"key": "pk_test_boom_local", "client_secret": intent.client_secret}, timeout=10
    )
    assert with_secret.json()["id"] == intent.id
    assert isinstance(stripe.PaymentIntent.construct_from(with_secret.json(), "pk"), stripe.PaymentIntent)
