"""The headers every page sends (Content-Security-Policy and friends), cookie flags, and the
pages that run scripts (paying, the admin) still working in a real browser under the policy."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.demo import ADMIN_PASSWORD, ADMIN_USERNAME, DEMO_PASSWORD, DEMO_PHONE
from accounts.models import User
from billing.models import Order
from plans.models import Line, Plan
from tests.factories import PASSWORD, UserFactory
from tests.security.helpers import app_code, authenticator_for, log_in_with_second_step
from tests.test_project import PRODUCTION_ENV, manage

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
LOGIN = reverse("accounts:login")


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def test_pages_send_a_strict_policy_and_the_other_security_headers(client):
    response = client.get(LOGIN)
    csp = directives(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["style-src"] == ["'self'"]
    # Scripts by nonce and 'strict-dynamic' (tests/security/test_content_policy.py), nothing unsafe.
    assert re.fullmatch(r"'nonce-[A-Za-z0-9+/]{22}=='", csp["script-src"][0])
    assert csp["script-src"][1:] == ["'strict-dynamic'", "https:"]
    assert csp["require-trusted-types-for"] == ["'script'"]
    assert csp["trusted-types"] == ["boom"]
    assert not any("unsafe" in source for sources in csp.values() for source in sources)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_policy_names_localstripe_where_the_settings_point_at_it(client, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:48123"
    settings.STRIPE_JS_URL = "http://127.0.0.1:48123/js.stripe.com/v3/"
    csp = directives(client.get(LOGIN))
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:48123"]
    assert csp["frame-src"] == ["http://127.0.0.1:48123"]
    # Its Stripe.js runs by the nonce on its tag, not by its address.
    assert "http://127.0.0.1:48123" not in csp["script-src"]


def test_policy_names_stripes_own_origins_with_the_real_stripe(client, settings):
    settings.STRIPE_API_BASE = "https://api.stripe.com"
    settings.STRIPE_JS_URL = "https://js.stripe.com/v3/"
    csp = directives(client.get(LOGIN))
    assert {"https://js.stripe.com", "https://hooks.stripe.com"} <= set(csp["frame-src"])
    assert {"'self'", "https://api.stripe.com", "https://js.stripe.com", "https://hooks.stripe.com"} <= set(
        csp["connect-src"]
    )
    assert not any("stripe" in source for source in csp["script-src"])
    assert "http://127.0.0.1" not in client.get(LOGIN)["Content-Security-Policy"]


def test_admin_pages_send_the_policy_with_their_own_scripts_allowed(client):
    """Django's admin templates put no nonce on their scripts and write HTML strings: its pages
    keep scripts from our own origin and no Trusted Types; everything else is the same policy."""
    staff = UserFactory.create(username="ops", is_staff=True, is_superuser=True)
    log_in_with_second_step(client, staff)
    response = client.get(reverse("admin:accounts_user_change", args=[staff.pk]))
    assert response.status_code == 200
    csp = directives(response)
    assert csp["script-src"] == ["'self'"]
    assert "require-trusted-types-for" not in csp
    assert "trusted-types" not in csp
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert directives(client.get(reverse("plans:home")))["trusted-types"] == ["boom"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "<style> block"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "event handler attribute"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style attribute"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


def test_no_page_template_has_inline_script_or_style():
    """What the policy would block. Email templates are not pages: mail clients need inline style."""
    found = []
    for template in sorted((REPO / "templates").rglob("*.html")):
        if "emails" in template.parts:
            continue
        text = template.read_text(encoding="utf-8")
        found += [f"{template.relative_to(REPO)}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert found == []


# --- Cookies --------------------------------------------------------------------------------


def cookie_flags(response, name: str) -> dict[str, object]:
    morsel = response.cookies[name]
    return {"httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"], "secure": bool(morsel["secure"])}


def test_session_csrf_and_language_cookies_are_httponly_and_samesite(client):
    customer = UserFactory.create()
    page = client.get(LOGIN)
    assert cookie_flags(page, "csrftoken") == {"httponly": True, "samesite": "Lax", "secure": False}
    logged_in = client.post(LOGIN, {"username": str(customer.phone), "password": PASSWORD})
    assert cookie_flags(logged_in, "sessionid") == {"httponly": True, "samesite": "Lax", "secure": False}
    switched = client.post(reverse("accounts:language"), {"language": "en", "next": "/"})
    assert cookie_flags(switched, "boom_language") == {"httponly": True, "samesite": "Lax", "secure": False}


def test_every_cookie_is_secure_when_the_site_is_https_only_the_currency_choice_too(client, settings):
    settings.SESSION_COOKIE_SECURE = True
    response = client.get(reverse("plans:catalogue"), {"currency": "USD"}, secure=True)
    assert cookie_flags(response, "boom_currency") == {"httponly": True, "samesite": "Lax", "secure": True}


PROBE = """
import json, os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "boomcard.settings")
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
# Production's static files need collectstatic's manifest; nothing else is changed.
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
# Behind the TLS-terminating proxy, which says so in X-Forwarded-Proto.
browser = Client(HTTP_HOST="my.boom.example", HTTP_X_FORWARDED_PROTO="https")
page = browser.get("/accounts/login/")
switched = browser.post("/language/", {"language": "en", "next": "/"})
flags = lambda morsel: {"httponly": bool(morsel["httponly"]), "samesite": morsel["samesite"],
                        "secure": bool(morsel["secure"])}
print(json.dumps({
    "hsts": page.get("Strict-Transport-Security"),
    "insecure": Client(HTTP_HOST="my.boom.example").get("/accounts/login/").status_code,
    "csrftoken": flags(page.cookies["csrftoken"]),
    "boom_language": flags(switched.cookies["boom_language"]),
    "session": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, settings.SESSION_COOKIE_SAMESITE],
    "csp": page["Content-Security-Policy"],
}))
"""


def test_production_sends_hsts_redirects_to_https_and_marks_every_cookie_secure():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_", "SECRET"))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env={**clean, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert answer["insecure"] == 301
    secure = {"httponly": True, "samesite": "Lax", "secure": True}
    assert answer["csrftoken"] == secure
    assert answer["boom_language"] == secure
    assert answer["session"] == [True, True, "Lax"]
    assert "https://js.stripe.com" in answer["csp"]
    assert "'strict-dynamic'" in answer["csp"]
    assert "require-trusted-types-for 'script'" in answer["csp"]
    assert "upgrade-insecure-requests" in answer["csp"]


def test_production_deploy_check_stays_clean():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


# --- In a browser: the scripts still run under the policy -------------------------------------


@pytest.mark.browser
def test_card_payment_with_3d_secure_works_under_the_policy(live_server: LiveServer, localstripe: str, browse):
    """localstripe's Stripe.js builds its card inputs and 3-D Secure box with DOM calls: allowed."""
    call_command("seed_demo", verbosity=0)
    line = Line.objects.get(msisdn="+8617012345678")
    base = live_server.url

    def pay(page: Page) -> str:
        page.goto(f"{base}/accounts/login/")
        page.locator("#id_username").fill(DEMO_PHONE)
        page.locator("#id_password").fill(DEMO_PASSWORD)
        page.locator("main button[type=submit]").click()
        expect(page).to_have_url(f"{base}/")
        page.goto(f"{base}/lines/{line.pk}/renew/")
        page.locator("section.renew-current button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/billing/orders/[^/]+/pay/$"))
        public_id = page.url.rstrip("/").split("/")[-2]
        card = page.locator("#card-element")
        card.locator('input[placeholder="number"]').fill("4000002500003155")
        card.locator('input[placeholder="exp_month"]').fill("12")
        card.locator('input[placeholder="exp_year"]').fill("34")
        card.locator('input[placeholder="cvc"]').fill("123")
        page.locator("#card-pay").click()
        # One 3-D Secure box, as the page confirms the payment.
        page.get_by_role("button", name="Complete authentication").click()
        expect(page).to_have_url(f"{base}/billing/orders/{public_id}/")
        expect(page.locator(".order .badge")).to_have_class(re.compile(r"\bstatus-fulfilled\b"), timeout=20_000)
        return public_id

    public_id, blocked = browse(pay)
    assert Order.objects.get(public_id=public_id).status == "fulfilled"
    assert blocked == []


@pytest.mark.browser
def test_staff_use_the_admin_scripts_under_the_policy(live_server: LiveServer, browse):
    """The admin's own scripts (the changelist actions, the two-box country picker) run."""
    call_command("seed_demo", verbosity=0)
    admin = User.objects.get(username=ADMIN_USERNAME)
    device = authenticator_for(admin)
    code = app_code(device)
    plan = Plan.objects.filter(is_addon=True).exclude(countries=[]).order_by("pk").first()
    assert plan is not None
    base = live_server.url

    def use_admin(page: Page) -> None:
        page.goto(f"{base}/admin/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/admin/$"))
        page.locator("#id_username").fill(ADMIN_USERNAME)
        page.locator("#id_password").fill(ADMIN_PASSWORD)
        page.locator("main button[type=submit]").click()
        expect(page).to_have_url(f"{base}/accounts/login/code/")
        page.locator("#id_code").fill(code)
        page.locator("main button[type=submit]").click()
        expect(page).to_have_url(f"{base}/admin/")
        page.goto(f"{base}/admin/plans/plan/{plan.pk}/change/")
        # SelectFilter2.js turns the countries' list into two boxes with a filter: scripts ran.
        expect(page.locator(".selector-filter input").first).to_be_visible()
        page.goto(f"{base}/admin/plans/line/")
        page.locator("#action-toggle").check()
        expect(page.locator(".action-counter")).to_contain_text("2 of 2")

    _, blocked = browse(use_admin)
    assert blocked == []
