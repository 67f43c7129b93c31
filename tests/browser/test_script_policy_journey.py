"""Every kind of page that runs a script, in Chromium, under the strict policy (a nonce,
'strict-dynamic', Trusted Types required: boomcard/content_policy.py): the service worker, the
stand-in Stripe.js and its card form, saving a card, the order page waiting for the payment, the
flexible plan's price and the copy buttons all work, with no console error and nothing blocked."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import ConsoleMessage, Page, expect
from playwright.sync_api import Error as PlaywrightError
from pytest_django.live_server_helper import LiveServer

from billing.models import Order
from plans.models import Line
from tests.browser.test_renew_journey import CARD_OK, expect_fulfilled, fill_card, log_in_in_english

# Before any script of the page: keeps every Content-Security-Policy violation the page reports
# (a blocked script, a Trusted Types sink given a string), for the test to read.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "") + " " + (event.sample || ""));
});
"""


def until_true(page: Page, expression: str, timeout_ms: int = 10_000) -> None:
    """Wait for ``expression`` to be true in the page, asking it again every 50 ms. Not
    ``page.wait_for_function``: after its first try that compiles the expression in the page,
    which the strict policy refuses (no 'unsafe-eval'), whenever the answer is not yet true."""
    for _ in range(timeout_ms // 50):
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError:  # the page is being replaced: ask the new one
            pass
        page.wait_for_timeout(50)
    raise AssertionError(f"still not true after {timeout_ms} ms: {expression}")


TRY_HTML_STRING = """() => {
  try { document.body.insertAdjacentHTML("beforeend", "<b>injected</b>"); return "allowed"; }
  catch (error) { return error.name; }
}"""
TRY_SCRIPT_URL = """(url) => {
  try { document.createElement("script").src = url; return "allowed"; }
  catch (error) { return error.name; }
}"""


class Watch:
    """What went wrong on the pages visited: console errors, uncaught errors, and the violations
    each page recorded (read before leaving it)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def console(self, message: ConsoleMessage) -> None:
        text = message.text
        if message.type == "error" or "Content Security Policy" in text or "Trusted Type" in text:
            self.problems.append(f"console {message.type}: {text}")

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__violations || []")
        return found

    def check(self, name: str) -> None:
        """Nothing went wrong on this page so far."""
        assert self.violations() == [], name
        assert self.problems == [], name


@pytest.mark.browser
def test_every_page_with_scripts_works_under_the_strict_policy(
    live_server: LiveServer, localstripe: str, page: Page
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    line = Line.objects.get(msisdn="+8617012345678")
    watch = Watch(page)

    # Home: app.js registers the service worker through the "boom" policy, and it takes over.
    log_in_in_english(page, base)
    until_true(page, "navigator.serviceWorker.controller !== null")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == f"{base}/sw.js"
    watch.check("home")

    # The line's page: copy.js copies the activation code.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.goto(f"{base}/lines/{line.pk}/")
    page.locator('button[data-copy="activation"]').click()
    expect(page.locator(".copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == line.activation_code
    watch.check("line")

    # Renewing: flex_price.js asks the server for the flexible plan's price as amounts change.
    page.goto(f"{base}/lines/{line.pk}/renew/")
    price = page.locator("#flex-price")
    expect(price).to_have_text("¥65.00")
    page.locator("#id_data_gb").fill("50")
    expect(price).to_have_text("¥140.00")
    watch.check("renew")

    # Paying: stripe_policy.js, the stand-in Stripe.js with its card form, pay.js; then the order
    # page waits for the payment with order_wait.js until the order is fulfilled.
    page.locator("section.renew-current button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/billing/orders/[^/]+/pay/$"))
    public_id = page.url.rstrip("/").split("/")[-2]
    # Waited for, not read at once: the URL changes before the new page's scripts have run.
    until_true(page, "trustedTypes.defaultPolicy && trustedTypes.defaultPolicy.name === 'default'")
    fill_card(page, CARD_OK)
    watch.check("pay")
    # The default policy lets through Stripe.js's own scripts, and nothing else.
    assert page.evaluate(TRY_SCRIPT_URL, f"{localstripe}/js.stripe.com/v3/") == "allowed"
    assert page.evaluate(TRY_SCRIPT_URL, "https://js.stripe.com/v3/fingerprinted/x.js") == "allowed"
    assert page.evaluate(TRY_SCRIPT_URL, "https://evil.example/x.js") == "TypeError"
    assert page.evaluate(TRY_SCRIPT_URL, f"{base}/static/js/app.js") == "TypeError"
    watch.problems.clear()  # the refusals above are logged; the payment must log nothing
    page.locator("#card-pay").click()
    expect_fulfilled(page, base, public_id)
    assert Order.objects.get(public_id=public_id).status == Order.Status.FULFILLED
    watch.check("order")

    # Auto-renew: the stand-in's card form is mounted for save_card.js.
    page.goto(f"{base}/lines/{line.pk}/auto-renew/")
    expect(page.locator('#save-card-form #card-element input[placeholder="number"]')).to_be_visible()
    watch.check("auto-renew")

    # The other pages run app.js only: nothing reported on any of them either.
    for path in (
        "/billing/orders/",
        f"/billing/orders/{public_id}/receipt/",
        "/plans/",
        "/notices/",
        "/accounts/settings/",
        "/accounts/security/",
        "/support/",
    ):
        page.goto(base + path)
        expect(page.locator("main h1")).to_be_visible()
        watch.check(path)

    # Trusted Types are enforced: an HTML string is refused, and the page reports it.
    page.goto(f"{base}/")
    assert page.evaluate(TRY_HTML_STRING) == "TypeError"
    expect(page.locator("b", has_text="injected")).to_have_count(0)
    until_true(page, "window.__violations.length > 0")
    assert [v.split()[0] for v in watch.violations()] == ["require-trusted-types-for"]
