"""The per-customer page cache (boomcard.page_cache) and the cached sessions
(boomcard.sessions): a page served from the cache shows every change at once, and the site
works the same when the cache cannot be reached."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import outbox, services
from accounts.email_change import email_change_request
from accounts.models import Notice
from boomcard import page_cache
from plans import lines
from plans.models import GB, Bucket, Line, Plan
from plans.services import bucket_grant, bucket_withdraw
from plans.usage import usage_ingest
from tests.factories import PASSWORD, LineFactory, UserFactory

pytestmark = pytest.mark.django_db

UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "boomcard.redis_cache.RedisCache",
        # Nothing listens on port 1.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    },
    "fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
}


@pytest.fixture
def work_phone(customer, plans) -> Line:
    line = LineFactory.create(owner=customer, nickname="Work phone")
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(hours=1))
    return line


@pytest.fixture
def signed_in(customer) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    return client


def top_up(line: Line, plans: dict[str, Plan]) -> Bucket:
    """5 GB more, granted when the line's plan began so that both end the same day: the home page
    sums home buckets per day they end, and a pack granted an hour later ends on the next day
    when the hour crosses midnight in the customer's zone."""
    plan_bucket = Bucket.objects.get(line=line, plan=plans["basic-10"])
    return bucket_grant(line=line, plan=plans["topup-5"], now=plan_bucket.starts_at)


def home(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def bell(page: str) -> int:
    match = re.search(r'class="bell-count">(\d+)<', page)
    return int(match.group(1)) if match else 0


def test_a_second_visit_is_served_from_the_cache(signed_in, work_phone, django_assert_num_queries):
    first = home(signed_in)
    with django_assert_num_queries(0):
        again = home(signed_in)
    # The same page but for the CSRF token, which is masked afresh for every response, the
    # scripts' nonce (new for every response), and the time the page was made (the offline copy
    # says "as of" it).
    fresh = re.compile(
        r'name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"|data-rendered-at="[^"]+"|(?<=as of )\d\d:\d\d'
    )
    assert fresh.sub("", again) == fresh.sub("", first)


def test_a_new_bucket_shows_at_once(signed_in, work_phone, plans):
    assert "10 GB left of 10 GB" in home(signed_in)
    top_up(work_phone, plans)
    assert "15 GB left of 15 GB" in home(signed_in)


def test_a_withdrawn_bucket_goes_at_once(signed_in, work_phone, plans):
    extra = top_up(work_phone, plans)
    assert "15 GB left of 15 GB" in home(signed_in)
    bucket_withdraw(bucket=extra)
    assert "10 GB left of 10 GB" in home(signed_in)


def test_a_bucket_changed_in_the_admin_shows_at_once(signed_in, work_phone):
    assert "10 GB left of 10 GB" in home(signed_in)
    bucket = Bucket.objects.get(line=work_phone)
    bucket.data_total = 20 * GB
    bucket.save()
    assert "20 GB left of 20 GB" in home(signed_in)


def test_usage_from_the_network_shows_at_once(signed_in, work_phone):
    assert "10 GB left of 10 GB" in home(signed_in)
    report = usage_ingest(
        records=[
            {
                "id": "cache-1",
                "msisdn": str(work_phone.msisdn),
                "kind": "data",
                "amount": 4 * GB,
                "country": "CN",
                "at": (timezone.now() - timedelta(minutes=1)).isoformat(),
            }
        ]
    )
    assert report.accepted == 1
    page = home(signed_in)
    assert "6 GB left of 10 GB" in page


def test_a_renamed_line_shows_at_once(signed_in, work_phone):
    assert "Work phone" in home(signed_in)
    lines.line_rename(line=work_phone, nickname="Mum")
    page = home(signed_in)
    assert "Mum" in page
    assert "Work phone" not in page


def test_the_bell_counts_new_and_read_notices_at_once(signed_in, customer, work_phone):
    assert bell(home(signed_in)) == 0
    outbox.notice_create(user=customer, kind=Notice.Kind.SUPPORT_RECEIVED, key="cache-test-1", email=False)
    assert bell(home(signed_in)) == 1
    services.notice_mark_read(user=customer)
    assert bell(home(signed_in)) == 0


def test_a_low_data_notice_from_the_network_rings_the_bell_at_once(signed_in, work_phone):
    """The usage feed writes its notices in bulk (no signal): it renews the account's generation
    itself, or the cached user's bell would lag."""
    assert bell(home(signed_in)) == 0
    usage_ingest(
        records=[
            {
                "id": "cache-low-1",
                "msisdn": str(work_phone.msisdn),
                "kind": "data",
                "amount": 8 * GB,  # 20 % left: the 25 % notice
                "country": "CN",
                "at": (timezone.now() - timedelta(minutes=1)).isoformat(),
            }
        ]
    )
    assert Notice.objects.filter(kind=Notice.Kind.LOW_BALANCE).count() == 1
    assert bell(home(signed_in)) == 1


def test_a_new_pending_email_shows_at_once(signed_in, customer):
    """The pending address is written with an update (no signal): the cached user follows."""
    assert "Waiting for you" not in signed_in.get(reverse("accounts:preferences")).content.decode()
    email_change_request(user=customer, email="new-address@example.com")
    page = signed_in.get(reverse("accounts:preferences")).content.decode()
    assert "Waiting for you to follow the link sent to new-address@example.com" in page


def _home_queries(client: Client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        home(client)
    return [query["sql"] for query in queries.captured_queries]


def _user_read(queries: list[str]) -> bool:
    return any('"accounts_user"' in query for query in queries)


def test_a_change_to_the_pages_alone_keeps_the_account_cached(signed_in, customer, work_phone):
    """A usage batch or a payment (``pages_changed``) rebuilds the pages but not the user and
    the bell; a change to the account (``customers_changed``) rebuilds both."""
    home(signed_in)
    page_cache.pages_changed([customer.pk])
    queries = _home_queries(signed_in)
    assert queries, "the page was not built again"
    assert not _user_read(queries)
    page_cache.customers_changed([customer.pk])
    assert _user_read(_home_queries(signed_in))
    assert _home_queries(signed_in) == []


def test_each_language_has_its_own_cards(signed_in, customer, work_phone):
    assert "Renew" in home(signed_in)
    services.user_language_set(user=customer, language="zh-hans")
    assert "续费" in home(signed_in)


def test_another_customer_never_gets_these_cards(signed_in, work_phone, plans):
    home(signed_in)
    other = UserFactory.create()
    LineFactory.create(owner=other, nickname="Someone else")
    their_browser = Client(headers={"Accept-Language": "en"})
    their_browser.force_login(other)
    page = home(their_browser)
    assert "Someone else" in page
    assert "Work phone" not in page


def test_a_password_changed_elsewhere_ends_this_session(signed_in, customer, work_phone):
    home(signed_in)  # the user is now cached
    customer.set_password("another-long-passphrase-2026")
    customer.save()
    response = signed_in.get("/")
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_a_deactivated_customer_is_logged_out_at_once(signed_in, customer, work_phone):
    home(signed_in)
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    assert signed_in.get("/").status_code == 302


def test_a_value_built_before_a_change_is_not_served_after_it(customer):
    """A reader that built from the old data stores it under the old generation."""
    built = []

    def stale() -> str:
        # The change lands while this reader is building.
        page_cache.customers_changed([customer.pk])
        built.append("stale")
        return "stale"

    assert page_cache.customer_cached(customer.pk, "probe", stale) == "stale"
    assert page_cache.customer_cached(customer.pk, "probe", lambda: "fresh") == "fresh"


@pytest.fixture
def cache_down() -> Iterator[None]:
    with override_settings(CACHES=UNREACHABLE_CACHE):
        yield


def test_the_site_works_without_the_cache(cache_down, customer, work_phone, plans):
    browser = Client(headers={"Accept-Language": "en"})
    response = browser.post(reverse("accounts:login"), {"username": str(customer.phone), "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert "10 GB left of 10 GB" in home(browser)
    top_up(work_phone, plans)
    assert "15 GB left of 15 GB" in home(browser)
    assert browser.get(reverse("billing:orders")).status_code == 200
    browser.post(reverse("accounts:logout"))
    assert browser.get("/").status_code == 302


def test_a_session_whose_cached_copy_is_gone_is_read_from_the_database(signed_in, work_phone):
    home(signed_in)
    cache.clear()
    assert "Work phone" in home(signed_in)


def test_a_cached_session_lives_at_most_session_cache_seconds(signed_in, settings):
    import redis

    key = cache.make_key("django.contrib.sessions.cached_db" + signed_in.session.session_key)
    ttl = redis.Redis.from_url(settings.REDIS_URL).ttl(key)
    assert 0 < ttl <= settings.SESSION_CACHE_SECONDS < settings.SESSION_COOKIE_AGE


def test_the_first_read_after_a_change_finds_its_generation_at_once(customer):
    """A change gives the customer a new generation rather than none: the read after it builds
    and stores without starting one (one round trip fewer on the first view after a change),
    and the value it stores is served next."""
    page_cache.customer_cached(customer.pk, "probe", lambda: "before")
    page_cache.customers_changed([customer.pk])
    with mock.patch.object(cache, "add", side_effect=AssertionError("a generation was started again")):
        assert page_cache.customer_cached(customer.pk, "probe", lambda: "after") == "after"
    assert page_cache.customer_cached(customer.pk, "probe", lambda: "built again") == "after"
    page_cache.customers_changed([customer.pk])
    assert page_cache.customer_cached(customer.pk, "probe", lambda: "after the next change") == "after the next change"


# --- The catalogue's generation: every customer's pages, and the catalogue each process keeps ---


def renewal_page(client: Client, line: Line) -> str:
    response = client.get(reverse("billing:renew", args=[line.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_plan_renamed_in_the_admin_shows_on_every_page_at_once(signed_in, work_phone, plans):
    """A plan's name is on the home page's cards and the renewal page: saved through the ORM (as
    the admin saves it), it shows on both at once, though the customer's own data did not change."""
    assert "Basic 10" in home(signed_in)
    assert "Basic 10" in renewal_page(signed_in, work_phone)
    plan = plans["basic-10"]
    plan.name_en = "Everyday 10"
    plan.save(update_fields=["name_en"])
    assert "Everyday 10" in home(signed_in)
    assert "Everyday 10" in renewal_page(signed_in, work_phone)


def test_the_catalogue_is_read_once_per_process_until_a_price_changes(signed_in, customer, work_phone, plans):
    """The first view after a change to the customer's data reads their line, not the catalogue
    (kept in this process under its generation); after a price change it is read again."""
    from plans.models import Price

    renewal_page(signed_in, work_phone)

    def catalogue_reads() -> int:
        page_cache.pages_changed([customer.pk])
        with CaptureQueriesContext(connection) as queries:
            renewal_page(signed_in, work_phone)
        return sum('"plans_price"' in query["sql"] for query in queries.captured_queries)

    assert catalogue_reads() == 0
    price = Price.objects.get(plan=plans["basic-10"], currency="CNY")
    price.amount_minor += 100
    price.save(update_fields=["amount_minor"])
    assert catalogue_reads() == 1
    assert catalogue_reads() == 0


def test_a_catalogue_read_before_a_price_change_is_not_kept_after_it(customer, plans):
    """A page that read the catalogue just before a price change committed stores under the
    catalogue's old generation: neither the page nor the catalogue it read is served after it."""
    from plans.models import Price
    from plans.selectors import catalogue, offered_price

    price = Price.objects.get(plan=plans["basic-10"], currency="CNY")

    def amount() -> int:
        plan = next(plan for plan in catalogue(currency="CNY") if plan.pk == price.plan_id)
        return offered_price(plan).amount_minor  # type: ignore[union-attr]

    def stale() -> int:
        before = amount()
        Price.objects.filter(pk=price.pk).update(amount_minor=price.amount_minor + 500)
        page_cache.catalogue_changed()  # what the price's signal does when the change commits
        return before

    assert page_cache.customer_cached(customer.pk, "probe", stale) == price.amount_minor
    assert page_cache.customer_cached(customer.pk, "probe", amount) == price.amount_minor + 500
