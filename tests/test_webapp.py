"""The installable app: manifest, favicon, service worker, and what the pages say about them."""

import json
import re

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.security.test_headers import directives

pytestmark = pytest.mark.django_db


def test_manifest_names_the_app_in_the_language_asked_for(client):
    response = client.get("/manifest.webmanifest?lang=zh-hans")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["lang"] == "zh-hans"
    assert manifest["description"] == "查看您的 Boom eSIM 号码还剩多少流量、通话和有效期，并随时续费。"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    assert manifest["theme_color"] == "#a0144c"

    english = json.loads(client.get("/manifest.webmanifest?lang=en").content)
    assert (english["lang"], english["name"]) == ("en", "Boom eSIM")
    assert english["description"] == "Check what is left on your Boom eSIM lines and renew them."


def test_manifest_without_a_known_language_follows_the_browser(client):
    manifest = json.loads(client.get("/manifest.webmanifest?lang=xx", HTTP_ACCEPT_LANGUAGE="zh-CN").content)
    assert manifest["lang"] == "zh-hans"


def test_manifest_icons_exist_with_a_maskable_one(client):
    icons = json.loads(client.get("/manifest.webmanifest").content)["icons"]
    assert {icon["sizes"] for icon in icons} >= {"192x192", "512x512"}
    assert any(icon["purpose"] == "maskable" for icon in icons)
    for icon in icons:
        response = client.get(icon["src"])
        assert response.status_code == 200
        assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_favicon_is_served_instead_of_a_404(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"


def test_service_worker_is_javascript_from_the_root_and_revalidated(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    assert b'addEventListener("fetch"' in response.content


def test_every_page_links_the_manifest_icons_theme_and_a_translated_description(client):
    page = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=zh-hans">' in page
    assert '<meta name="theme-color" content="#a0144c">' in page
    assert 'rel="apple-touch-icon"' in page
    assert re.search(r'<script nonce="[A-Za-z0-9+/]{22}==" src="/static/js/app\.js" defer></script>', page)
    assert re.search(r'<meta name="description" content="查看您的 Boom eSIM[^"]+">', page)


def test_policy_allows_the_worker_and_manifest_from_the_site_only(client):
    csp = directives(client.get(reverse("accounts:login")))
    assert csp["worker-src"] == ["'self'"]
    assert csp["manifest-src"] == ["'self'"]


def test_home_page_is_marked_for_the_worker_and_not_stored_elsewhere(client):
    user = UserFactory.create()
    client.force_login(user)
    response = client.get(reverse("plans:home"))
    assert response["Boom-Offline"] == "keep"
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert re.search(r'<p class="offline-mark" role="status" data-copy="live" data-rendered-at="[^"]+" hidden>', page)
    assert re.search(r"Offline, as of \d\d:\d\d", page)


def test_other_pages_are_not_marked_for_the_worker(client):
    client.force_login(UserFactory.create())
    assert not client.get(reverse("accounts:notices")).has_header("Boom-Offline")
    assert not client.get(reverse("accounts:login")).has_header("Boom-Offline")


def test_log_out_tells_the_browser_to_forget_its_caches_and_the_worker(client):
    client.force_login(UserFactory.create())
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
