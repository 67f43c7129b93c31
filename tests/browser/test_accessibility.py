"""axe-core, every rule on (AAA contrast included), finds nothing on the customer's pages, in
Chinese and in English; and the pay page does not shift when the card form mounts.

The pages are those a customer reaches: logged out (log in, register, password reset, help),
then logged in as the demo customer (lines, plans, the recommender's answer, renewal, paying
with the card form mounted, orders, receipt, notices, account, security, auto-renew).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import DEMO_PASSWORD, DEMO_PHONE
from billing.demo import demo_orders_create
from billing.models import Order
from plans.models import Line
from tests.browser.axe import axe_source, describe, violations
from tests.browser.conftest import PHONE_VIEWPORT, TIMEOUT_MS

RECOMMEND_QUERY = "data_gb=12&minutes=300&sms=50&trip1_country=JP&trip1_days=7"
LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
# Lighthouse's bound for a good page, and the target for the pay page.
CLS_LIMIT = 0.05


@dataclass(frozen=True)
class Orders:
    line: Line
    paid: Order
    pending: Order


@pytest.fixture
def orders(live_server: LiveServer, localstripe: str) -> Orders:
    """The demo customer, with a paid order (its receipt) and one waiting to be paid."""
    call_command("seed_demo", verbosity=0)
    line = Line.objects.get(msisdn="+8617012345678")
    assert line.owner is not None
    made = demo_orders_create(paid_line=line)
    return Orders(line=line, paid=made.paid, pending=made.pending)


def new_context(browser: Browser, language: str) -> BrowserContext:
    """A phone, as Lighthouse's mobile run; CSP bypassed so that axe can be injected."""
    context = browser.new_context(
        viewport=PHONE_VIEWPORT, locale=LOCALES[language], timezone_id="Asia/Shanghai", bypass_csp=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


@pytest.fixture(params=list(LOCALES))
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def context(browser: Browser, language: str) -> Iterator[BrowserContext]:
    context = new_context(browser, language)
    yield context
    context.close()


def log_in(page: Page, base: str, language: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_username").fill(DEMO_PHONE)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    if page.locator("html").get_attribute("lang") != language:  # the demo customer saved Chinese
        page.locator(f'.lang button[value="{language}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def customer_pages(orders: Orders) -> list[str]:
    line, paid, pending = orders.line.pk, orders.paid.public_id, orders.pending.public_id
    return [
        "/",
        f"/lines/{line}/",
        "/plans/",
        "/plans/basic-30/",
        f"/plans/recommend/?{RECOMMEND_QUERY}",
        f"/plans/recommend/buy/?item=basic-30.1&item=topup-5.2&item=roam-jpkr-7.1&currency=CNY&line={line}",
        f"/lines/{line}/renew/",
        f"/billing/orders/{pending}/pay/",
        f"/billing/orders/{paid}/",
        "/billing/orders/",
        f"/billing/orders/{paid}/receipt/",
        "/notices/",
        "/accounts/settings/",
        "/accounts/security/",
        f"/lines/{line}/auto-renew/",
        "/support/",
    ]


LOGGED_OUT_PAGES = ["/accounts/login/", "/accounts/register/", "/accounts/password/reset/", "/support/"]


def check(page: Page, base: str, path: str, language: str, source: str) -> list[str]:
    answer = page.goto(base + path)
    assert answer is not None
    assert answer.status == 200, f"{path} answered {answer.status}"
    expect(page.locator("html")).to_have_attribute("lang", language)
    if "/pay/" in path:  # the card form, mounted
        expect(page.locator("#card-element input").first).to_be_attached()
    return describe(f"{path} [{language}]", violations(page, source))


@pytest.mark.browser
def test_axe_finds_nothing_on_any_page_with_every_rule_on(
    live_server: LiveServer, orders: Orders, context: BrowserContext, language: str
) -> None:
    source = axe_source()
    base = live_server.url
    page = context.new_page()
    found: list[str] = []
    for path in LOGGED_OUT_PAGES:
        found += check(page, base, path, language, source)
    log_in(page, base, language)
    paths = customer_pages(orders)
    for path in paths:
        found += check(page, base, path, language, source)
    assert len(LOGGED_OUT_PAGES) + len(paths) >= 17
    assert not found, "axe found:\n" + "\n".join(found)


# Every layout shift not caused by the customer's input, added up as Lighthouse does in a
# page's first seconds (a phone-sized window; the page is short enough to be one session).
CLS_SCRIPT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  setTimeout(() => resolve(total), 1500);
})"""


@pytest.mark.browser
@pytest.mark.parametrize("language", ["zh-hans"])
@pytest.mark.parametrize("page_name", ["pay", "auto-renew"])
def test_a_card_form_page_does_not_shift_when_the_card_form_mounts(
    live_server: LiveServer, orders: Orders, context: BrowserContext, language: str, page_name: str
) -> None:
    base = live_server.url
    page = context.new_page()
    log_in(page, base, language)
    script, path = {
        "pay": ("pay", f"/billing/orders/{orders.pending.public_id}/pay/"),
        "auto-renew": ("save_card", f"/lines/{orders.line.pk}/auto-renew/"),
    }[page_name]

    def late(route: Route) -> None:
        """The page's script arrives after the first paint, as on a slow phone network."""
        time.sleep(0.5)
        route.continue_()

    page.route(f"**/js/{script}*.js", late)
    page.goto(base + path)
    expect(page.locator("#card-element input").first).to_be_attached()
    if page_name == "pay":  # the wallet buttons, which used to jump
        expect(page.locator("button[name=method][value=alipay]")).to_be_visible()
    shift = page.evaluate(CLS_SCRIPT)
    assert shift < CLS_LIMIT, f"the {page_name} page shifted by {shift:.3f}"
