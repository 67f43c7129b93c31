"""At 360 px the orders list keeps each status badge and date on one line; a pending order is
cancelled from its page; the receipt prints without the site's header, menu and buttons, and
downloads as a PDF."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from billing.demo import demo_orders_create
from billing.models import Order
from plans.models import Line
from tests.browser.conftest import PHONE_VIEWPORT, Screenshot
from tests.browser.test_renew_journey import log_in_in_english


def one_line(element: Locator) -> bool:
    """The element's text sits on a single line: its text has one box (a wrapped text has one per line)."""
    return bool(
        element.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e);"
            " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size === 1; }"
        )
    )


@pytest.mark.browser
def test_orders_at_360px_cancel_a_pending_order_print_and_download_the_receipt(
    live_server: LiveServer, page: Page, screenshot: Screenshot
) -> None:
    call_command("seed_demo", verbosity=0)
    base = live_server.url
    first, second = Line.objects.filter(msisdn__in=["+8617012345678", "+8617012345679"]).order_by("msisdn")[:2]
    assert first.owner is not None
    made = demo_orders_create(paid_line=first, pending_line=second)
    paid, pending = made.paid, made.pending

    page.set_viewport_size(PHONE_VIEWPORT)
    log_in_in_english(page, base)
    page.goto(f"{base}/billing/orders/")
    rows = page.locator(".order-row")
    expect(rows.first).to_be_visible()
    for n in range(rows.count()):
        assert one_line(rows.nth(n).locator(".badge")), rows.nth(n).inner_text()
        assert one_line(rows.nth(n).locator(".date").first), rows.nth(n).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "orders")

    page.goto(f"{base}/billing/orders/{pending.public_id}/")
    page.get_by_role("button", name="Cancel this order").click()
    expect(page.locator(".messages")).to_contain_text("Your order was cancelled. Nothing was charged.")
    expect(page.locator(".order .badge")).to_have_class("badge status-cancelled")
    expect(page.get_by_role("button", name="Cancel this order")).to_have_count(0)
    pending.refresh_from_db()
    assert pending.status == Order.Status.CANCELLED
    screenshot(page, "cancelled")

    page.goto(f"{base}/billing/orders/{paid.public_id}/receipt/")
    expect(page.locator(".receipt")).to_contain_text("Prices include tax.")
    expect(page.locator(".receipt")).to_contain_text("fapiao")
    screenshot(page, "receipt")
    page.emulate_media(media="print")
    for hidden in (".top", ".nav", ".receipt .button"):
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.locator(".receipt h1")).to_be_visible()
    screenshot(page, "receipt-print")
    page.emulate_media(media="screen")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"receipt-{paid.public_id}.pdf"
    path = download.path()
    assert path.read_bytes().startswith(b"%PDF")
