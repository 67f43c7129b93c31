"""The line and recommend pages, cold and warm: their query counts (the same however many lines,
buckets, usage records or days of usage), what of them is cached (never the request's nonce or
token), and that a change shows at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django import forms
from django.core.cache import cache, caches
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from boomcard.page_cache import customers_changed
from plans.forms import QuickSelect, RecommendForm
from plans.models import GB, DailyUsage, Line, usage_day
from plans.services import bucket_grant
from plans.usage import usage_ingest
from tests.accounts.test_page_cache import UNREACHABLE_CACHE
from tests.factories import PASSWORD, LineFactory, UserFactory

pytestmark = pytest.mark.django_db
RECOMMEND = reverse("plans:recommend") + "?data_gb=12&minutes=300&sms=50&trip1_country=JP&trip1_days=7"


def customer_with(plans, lines: int, buckets: int, days: int):
    customer = UserFactory.create()
    now = timezone.now()
    for _ in range(lines):
        line = LineFactory.create(owner=customer)
        bucket_grant(line=line, plan=plans["basic-30"], now=now)
        for _ in range(buckets - 1):
            bucket_grant(line=line, plan=plans["roam-jpkr-7"], now=now)
        DailyUsage.objects.bulk_create(
            DailyUsage(line=line, day=usage_day(now - timedelta(days=d)), data=(d + 1) * 1000, voice=60, sms=1)
            for d in range(days)
        )
    return customer


def signed_in(customer) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    return client


def counts(client: Client, path: str, django_assert_num_queries, cold: int, changed: int, warm: int) -> str:
    """Fully cold (nothing cached), warm, then the first view after the customer's data changed."""
    cache.clear()
    caches["fragments"].clear()
    with django_assert_num_queries(cold):
        assert client.get(path).status_code == 200
    with django_assert_num_queries(warm):
        page = client.get(path)
    customers_changed([client.session["_auth_user_id"]])
    with django_assert_num_queries(changed):
        assert client.get(path).status_code == 200
    return page.content.decode()


@pytest.mark.parametrize(("lines", "buckets", "days"), [(1, 1, 3), (10, 30, 365)])
def test_line_page_queries_cold_after_a_change_and_warm(plans, django_assert_num_queries, lines, buckets, days):
    customer = customer_with(plans, lines, buckets, days)
    line = Line.objects.filter(owner=customer).order_by("pk")[0]
    # Cold: session, the user with the bell's count, line, buckets, 30 days of usage. After a
    # change: the same but the session (it stays cached). Warm: none.
    page = counts(signed_in(customer), reverse("plans:line", args=[line.pk]), django_assert_num_queries, 5, 4, 0)
    assert page.count('class="bucket"') == buckets
    assert "LPA:1$" in page


@pytest.mark.parametrize(("lines", "days"), [(1, 3), (10, 365)])
def test_recommend_page_queries_cold_after_a_change_and_warm(plans, django_assert_num_queries, lines, days):
    customer = customer_with(plans, lines, 1, days)
    client = signed_in(customer)
    # With a need in the URL. Cold: session, the user with the bell's count, plans with their
    # prices, lines. After a change to the customer: the lines (the catalogue kept in this
    # process under its generation, the session cached).
    page = counts(client, RECOMMEND, django_assert_num_queries, 4, 2, 0)
    assert "Our suggestion" in page
    # From the first line's usage: the 90 days' totals too.
    page = counts(client, reverse("plans:recommend"), django_assert_num_queries, 5, 3, 0)
    assert "over the last 90 days" in page


def test_usage_applied_shows_on_the_line_page_and_recommend_at_once(plans):
    customer = customer_with(plans, 1, 1, 0)
    line = Line.objects.get(owner=customer)
    client = signed_in(customer)
    line_url = reverse("plans:line", args=[line.pk])
    assert "No data used in the last 30 days." in client.get(line_url).content.decode()
    assert "Our suggestion" not in client.get(reverse("plans:recommend")).content.decode()
    record = {"id": "speed-1", "msisdn": str(line.msisdn), "kind": "data", "amount": 3 * GB, "country": "CN"}
    assert usage_ingest(records=[{**record, "at": timezone.now().isoformat()}]).accepted == 1
    page = client.get(line_url).content.decode()
    assert "No data used in the last 30 days." not in page
    assert "3 GB" in page
    assert "over the last 90 days" in client.get(reverse("plans:recommend")).content.decode()


def test_each_view_has_its_own_nonce_and_token(plans):
    customer = customer_with(plans, 1, 2, 30)
    line = Line.objects.get(owner=customer)
    for path in (reverse("plans:line", args=[line.pk]), RECOMMEND):
        seen = set()
        for _ in range(2):
            client = signed_in(customer)  # a browser of its own: its own CSRF cookie
            response = client.get(path)
            nonces = set(re.findall(r'nonce="([^"]+)"', response.content.decode()))
            tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()))
            assert len(nonces) == 1
            assert nonces <= {response.wsgi_request.csp_nonce}  # type: ignore[attr-defined]
            seen.add((nonces.pop(), tokens.pop()))
        assert len(seen) == 2


def test_another_customer_never_gets_this_line_page_or_answer(plans):
    mine = customer_with(plans, 1, 1, 5)
    line = Line.objects.get(owner=mine)
    Line.objects.filter(pk=line.pk).update(nickname="Mine")
    customers_changed([mine.pk])
    assert "Mine" in signed_in(mine).get(reverse("plans:line", args=[line.pk])).content.decode()
    assert "Mine" in signed_in(mine).get(reverse("plans:recommend")).content.decode()
    other = signed_in(customer_with(plans, 1, 1, 5))
    assert other.get(reverse("plans:line", args=[line.pk])).status_code == 404
    assert "Mine" not in other.get(reverse("plans:recommend")).content.decode()


def test_the_line_and_recommend_pages_work_without_the_cache(plans):
    customer = customer_with(plans, 1, 2, 10)
    line = Line.objects.get(owner=customer)
    with override_settings(CACHES=UNREACHABLE_CACHE):
        browser = Client(headers={"Accept-Language": "en"})
        response = browser.post(reverse("accounts:login"), {"username": str(customer.phone), "password": PASSWORD})
        assert response.status_code == 302
        assert "LPA:1$" in browser.get(reverse("plans:line", args=[line.pk])).content.decode()
        bucket_grant(line=line, plan=plans["topup-5"])
        assert browser.get(reverse("plans:line", args=[line.pk])).content.decode().count('class="bucket"') == 3
        assert "Our suggestion" in browser.get(RECOMMEND).content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_quick_select_draws_what_djangos_select_draws(language):
    from django.utils import translation

    with translation.override(language):
        form = RecommendForm({"trip1_country": "JP"}, countries=["JP", "KR", "FR", "DE"])
        field = form.fields["trip1_country"]
        assert isinstance(field, forms.ChoiceField)
        assert isinstance(field.widget, QuickSelect)
        attrs = {"id": "id_trip1_country", "aria-invalid": "true", "aria-describedby": "x_helptext", "required": False}
        quick = field.widget.render("trip1_country", "JP", attrs=attrs)
        django = forms.Select(choices=list(field.choices)).render(  # type: ignore[arg-type]
            "trip1_country", "JP", attrs=attrs
        )
        assert quick == django
        assert " selected>" in quick


def test_home_cards_are_drawn_again_only_when_what_they_show_changes(plans, monkeypatch):
    import importlib

    line_views = importlib.import_module("plans.line_views")
    customer = customer_with(plans, 2, 2, 3)
    line, other = Line.objects.filter(owner=customer).order_by("pk")
    client = signed_in(customer)
    cache.clear()
    caches["fragments"].clear()
    drawn: list[str] = []
    draw = line_views.render_to_string

    def counted(name: str, context: dict) -> str:
        drawn.append(name if name != "plans/line_card.html" else f"card {context['summary'].line.pk}")
        return draw(name, context)

    monkeypatch.setattr(line_views, "render_to_string", counted)

    def cards(path: str = "/") -> str:
        found = re.search(r'<ul class="lines">.*?</ul>', client.get(path).content.decode(), re.DOTALL)
        assert found is not None
        return found.group(0)

    first = cards()
    assert drawn == [f"card {line.pk}", f"card {other.pk}", "plans/line_cards.html"]
    assert first.count('<li class="card line') == 2
    # A notice or a payment elsewhere: the page is rebuilt, no card is redrawn.
    customers_changed([customer.pk])
    assert cards() == first
    assert len(drawn) == 3

    # A new nickname, then usage on the line: its card is drawn anew at once, the other's not.
    drawn.clear()
    Line.objects.filter(pk=line.pk).update(nickname="Travel")
    customers_changed([customer.pk])
    named = cards()
    assert "Travel" in named
    assert "Travel" not in first
    record = {"id": "cards-1", "msisdn": str(line.msisdn), "kind": "data", "amount": 3 * GB, "country": "CN"}
    assert usage_ingest(records=[{**record, "at": timezone.now().isoformat()}]).accepted == 1
    assert cards() != named
    assert drawn == [f"card {line.pk}", "plans/line_cards.html"] * 2


def test_line_page_is_drawn_again_only_when_what_it_shows_changes(plans, monkeypatch):
    import importlib

    line_page = importlib.import_module("plans.line_page")
    customer = customer_with(plans, 2, 2, 3)
    line, other = Line.objects.filter(owner=customer).order_by("pk")
    client = signed_in(customer)
    path = reverse("plans:line", args=[line.pk])
    cache.clear()
    caches["fragments"].clear()
    drawn: list[str] = []
    draw = line_page.render_to_string

    def counted(name: str, context: dict) -> str:
        drawn.append(name)
        return draw(name, context)

    monkeypatch.setattr(line_page, "render_to_string", counted)
    client.get(path)
    # The customer's other line renamed: this line's page is rebuilt, not redrawn.
    Line.objects.filter(pk=other.pk).update(nickname="Other")
    customers_changed([customer.pk])
    assert "Other" not in client.get(path).content.decode()
    assert drawn.count("plans/line_detail_content.html") == 1

    # This line renamed, then usage on it: each drawn anew at once.
    Line.objects.filter(pk=line.pk).update(nickname="Travel")
    customers_changed([customer.pk])
    assert "Travel" in client.get(path).content.decode()
    record = {"id": "line-1", "msisdn": str(line.msisdn), "kind": "data", "amount": 3 * GB, "country": "CN"}
    assert usage_ingest(records=[{**record, "at": timezone.now().isoformat()}]).accepted == 1
    assert "3 GB" in client.get(path).content.decode()
    assert drawn.count("plans/line_detail_content.html") == 3
