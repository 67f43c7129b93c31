"""The strict script policy (boomcard/content_policy.py): scripts run by this response's nonce
and 'strict-dynamic', never by a host's name; Trusted Types are required; every <script> on every
customer page carries its response's nonce, and no cached part of a page carries an old one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_PHONE
from accounts.models import User
from billing.models import Order
from plans.models import Line
from tests.billing.stripe_events import start_order
from tests.security.test_headers import directives

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
NONCE_ATTRIBUTE = re.compile(r'\snonce="([^"]*)"')


@pytest.fixture
def demo(localstripe: str) -> tuple[Client, User, Line]:
    """The demo customer, logged in, with the line that has a plan; Stripe is localstripe."""
    call_command("seed_demo", verbosity=0)
    customer = User.objects.get(phone=DEMO_PHONE)
    line = Line.objects.get(msisdn="+8617012345678")
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    return client, customer, line


def nonce_of(response) -> str:
    """The nonce in the response's script-src, after checking the rest of the directive."""
    sources = directives(response)["script-src"]
    found = re.fullmatch(r"'nonce-([A-Za-z0-9+/]{22}==)'", sources[0])
    assert found, sources
    assert sources[1:] == ["'strict-dynamic'", "https:"]
    return found.group(1)


def script_nonces(response) -> list[str]:
    """The nonce attribute of each <script> tag in the page, in order ("" for a tag without)."""
    tags = SCRIPT_TAG.findall(response.content.decode())
    return [found.group(1) if (found := NONCE_ATTRIBUTE.search(tag)) else "" for tag in tags]


def test_policy_allows_scripts_by_nonce_and_strict_dynamic_with_trusted_types_and_no_host(client):
    response = client.get(reverse("accounts:login"))
    csp = directives(response)
    nonce_of(response)
    # No host, no 'self', nothing unsafe: only the nonce, 'strict-dynamic' and the https: fallback.
    assert not [source for source in csp["script-src"][1:] if source not in ("'strict-dynamic'", "https:")]
    assert not any("://" in source or "unsafe" in source for source in csp["script-src"])
    assert csp["require-trusted-types-for"] == ["'script'"]
    assert csp["trusted-types"] == ["boom"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert script_nonces(response) == [nonce_of(response)]


def test_every_script_on_every_customer_page_carries_its_responses_nonce(demo):
    client, customer, line = demo
    order = start_order(client, customer, line)
    waiting = Order.objects.filter(pk=order.pk)
    pages = {
        "home": reverse("plans:home"),
        "line": reverse("plans:line", args=[line.pk]),
        "renew": reverse("billing:renew", args=[line.pk]),
        "auto-renew": reverse("billing:auto_renew", args=[line.pk]),
        "pay": reverse("billing:pay", args=[order.public_id]),
        "order waiting": reverse("billing:order", args=[order.public_id]),
        "orders": reverse("billing:orders"),
        "catalogue": reverse("plans:catalogue"),
        "notices": reverse("accounts:notices"),
        "settings": reverse("accounts:preferences"),
        "security": reverse("accounts:security"),
        "support": reverse("accounts:support"),
    }
    scripts = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        nonce = nonce_of(response)
        found = script_nonces(response)
        assert found, name
        assert set(found) == {nonce}, (name, found, nonce)
        scripts[name] = len(found)
    assert waiting.get().status == Order.Status.PENDING
    # The pages with scripts of their own have them (app.js is on every page).
    assert scripts["pay"] == 4  # app.js, stripe_policy.js, Stripe.js, pay.js
    assert scripts["auto-renew"] == 4  # app.js, stripe_policy.js, Stripe.js, save_card.js
    assert scripts["renew"] == 2  # flex_price.js
    assert scripts["line"] == 3  # copy.js, usage_chart.js
    assert scripts["order waiting"] == 2  # order_wait.js
    assert scripts["home"] == 1


def test_only_the_pages_that_load_stripe_js_allow_the_default_trusted_types_policy(demo):
    client, customer, line = demo
    order = start_order(client, customer, line)
    for url in (reverse("billing:pay", args=[order.public_id]), reverse("billing:auto_renew", args=[line.pk])):
        assert directives(client.get(url))["trusted-types"] == ["boom", "default"]
    for url in (reverse("plans:home"), reverse("billing:renew", args=[line.pk])):
        assert directives(client.get(url))["trusted-types"] == ["boom"]


def test_two_responses_carry_different_nonces_and_the_cached_home_page_parts_none(demo):
    """The home page's line cards, the menu and the footer are cached (boomcard/page_cache.py,
    {% cache %} in base.html): the second page is built from those caches, and carries only its
    own response's nonce."""
    client, _, _ = demo
    first = client.get(reverse("plans:home"))
    second = client.get(reverse("plans:home"))
    assert first.status_code == second.status_code == 200
    first_nonce, second_nonce = nonce_of(first), nonce_of(second)
    assert first_nonce != second_nonce
    assert script_nonces(first) == [first_nonce]
    assert script_nonces(second) == [second_nonce]
    # Nowhere else in the second page (a cached fragment) is there any nonce.
    page = second.content.decode()
    assert first_nonce not in page
    assert re.findall(r"nonce", page) == ["nonce"]
    assert "+86 170 1234 5678" in page  # the cached line cards are there


def test_every_script_tag_in_the_templates_carries_the_nonce():
    """What the rendered pages above do not reach (a form with errors, a rarer state) still gets
    the nonce: every <script> tag in every page template has it, and none has inline code."""
    missing = []
    for template in sorted((REPO / "templates").rglob("*.html")):
        for tag in SCRIPT_TAG.findall(template.read_text(encoding="utf-8")):
            if 'nonce="{{ request.csp_nonce }}"' not in tag or " src=" not in tag:
                missing.append(f"{template.relative_to(REPO)}: {tag}")
    assert missing == []
