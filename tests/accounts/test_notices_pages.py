"""The notices page and the header's bell, and the help page with its form to write to support."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, SupportRequest, User
from boomcard.page_cache import customers_changed
from tests.factories import LineFactory, UserFactory
from tests.helpers import capture_templates

pytestmark = pytest.mark.django_db

# The billing tests' customer (with an email address), their line on basic-10 and the catalogue.

BELL_COUNT = re.compile(r'<span class="bell-count">(\d+)</span>')


def support_notice(user: User, ref: str, minutes_ago: int) -> Notice:
    return Notice.objects.create(
        user=user,
        kind=Notice.Kind.SUPPORT_RECEIVED,
        key=f"support-received:{ref}",
        params={"ref": ref},
        link="/support/",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def bell_count(page: str) -> int:
    """The unread count the header's bell shows (0: no count shown)."""
    match = BELL_COUNT.search(page)
    return int(match.group(1)) if match else 0


def get(client: Client, name: str) -> str:
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


# --- Notices and the bell ------------------------------------------------------------------


def test_notices_page_lists_newest_first_and_marks_them_read(client, customer):
    for ref, minutes_ago in (("S000001", 30), ("S000003", 10), ("S000002", 20)):
        support_notice(customer, ref, minutes_ago)
    client.force_login(customer)

    page = get(client, "accounts:notices")
    positions = [page.index(ref) for ref in ("S000003", "S000002", "S000001")]
    assert positions == sorted(positions)
    assert page.count("notice-unread") == 3
    assert not Notice.objects.filter(user=customer, read_at__isnull=True).exists()

    page = get(client, "accounts:notices")
    assert "notice-unread" not in page
    assert "S000001" in page


def test_notices_come_twenty_to_a_page_with_newer_and_older_links(client, customer, django_assert_num_queries):
    """Each page is read in one query (one notice past the page says an older page follows); a
    number past the last page shows the last, and one that is not a number the first."""
    for n in range(45):
        support_notice(customer, f"S{n:06d}", minutes_ago=n)  # S000000 the newest
    Notice.objects.filter(user=customer).update(read_at=timezone.now())
    client.force_login(customer)
    client.get(reverse("plans:home"))  # the session and the user are kept

    def shown(query: str) -> tuple[list[str], bool, bool]:
        page = client.get(reverse("accounts:notices") + query).content.decode()
        refs = re.findall(r"S0000\d\d", page)
        return sorted(set(refs)), "Newer</a>" in page, "Older →</a>" in page

    with django_assert_num_queries(1):  # the page's notices: the session and user from the cache
        first = shown("")
    assert first == ([f"S{n:06d}" for n in range(20)], False, True)
    assert shown("?page=2") == ([f"S{n:06d}" for n in range(20, 40)], True, True)
    last = shown("?page=3")
    assert last == ([f"S{n:06d}" for n in range(40, 45)], True, False)
    assert shown("?page=9") == last
    assert shown("?page=x") == first
    assert 'href="?page=2"' in client.get(reverse("accounts:notices") + "?page=3").content.decode()


def test_the_list_is_drawn_again_only_when_what_it_shows_changes(client, customer):
    """The list is kept drawn in each process under every column of its notices: a change to
    something else of the customer's finds it as drawn; a new notice, or one marked read, does not."""
    support_notice(customer, "S000001", minutes_ago=5)
    client.force_login(customer)
    assert "notice-unread" in get(client, "accounts:notices")  # seen, and so marked read
    assert "notice-unread" not in get(client, "accounts:notices")
    customers_changed([customer.pk])
    with capture_templates() as drawn:
        again = get(client, "accounts:notices")
    assert "accounts/notices_body.html" not in drawn
    assert "S000001" in again
    newer = support_notice(customer, "S000002", minutes_ago=1)
    Notice.objects.filter(pk=newer.pk).update(read_at=timezone.now())  # read elsewhere: no new notice
    customers_changed([customer.pk])
    with capture_templates() as drawn:
        page = get(client, "accounts:notices")
    assert "accounts/notices_body.html" in drawn
    assert page.index("S000002") < page.index("S000001")
    assert "notice-unread" not in page


def test_the_bell_shows_the_unread_count_until_the_notices_are_opened(client, customer):
    support_notice(customer, "S000001", 5)
    support_notice(customer, "S000002", 1)
    client.force_login(customer)
    assert bell_count(get(client, "accounts:support")) == 2

    get(client, "accounts:notices")
    page = get(client, "accounts:support")
    assert bell_count(page) == 0
    assert "bell-count" not in page


def test_another_customers_notices_never_show_nor_count(client, customer):
    support_notice(customer, "S000001", 5)
    someone_else = UserFactory.create()
    for n in range(3):
        support_notice(someone_else, f"S99999{n}", n)
    client.force_login(customer)

    assert bell_count(get(client, "accounts:support")) == 1
    page = get(client, "accounts:notices")
    assert "S000001" in page
    assert "S99999" not in page
    assert Notice.objects.filter(user=someone_else, read_at__isnull=True).count() == 3


def test_the_bell_is_not_shown_to_visitors_who_are_not_logged_in(client):
    page = get(client, "accounts:login")
    assert "bell" not in page


# --- Help and support requests -------------------------------------------------------------


def test_help_page_shows_the_answers_and_the_form(client, customer, line):
    client.force_login(customer)
    page = get(client, "accounts:support")
    for question in ("How do I renew?", "How can I pay?", "How do I install the eSIM?"):
        assert question in page
    assert '<select name="topic"' in page
    assert '<textarea name="message"' in page
    assert f'<option value="{line.pk}">' in page


def test_support_request_is_stored_emailed_to_support_and_confirmed_to_the_customer(client, customer, line, settings):
    settings.SUPPORT_EMAIL = "help-desk@boom.example"
    client.force_login(customer)
    response = client.post(
        reverse("accounts:support"),
        {"topic": "paying", "line": line.pk, "message": "My card was charged but the line shows the old expiry."},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:support")

    request = SupportRequest.objects.get()
    assert (request.user, request.line_ref, request.line_number, request.topic) == (
        customer,
        line.pk,
        str(line.msisdn),
        "paying",
    )
    assert request.message == "My card was charged but the line shows the old expiry."
    to_support = EmailDelivery.objects.get(support_request=request)
    assert (to_support.to, to_support.status) == ("help-desk@boom.example", EmailDelivery.Status.PENDING)
    notice = Notice.objects.get(user=customer, kind=Notice.Kind.SUPPORT_RECEIVED)
    assert notice.params == {"ref": request.reference}
    assert EmailDelivery.objects.get(notice=notice).to == customer.email

    page = client.get(response["Location"]).content.decode()
    assert request.reference in page
    assert bell_count(page) == 1


def test_support_request_naming_another_customers_line_is_refused(client, customer, line):
    not_theirs = LineFactory.create(owner=UserFactory.create())
    client.force_login(customer)
    response = client.post(
        reverse("accounts:support"),
        {"topic": "esim", "line": not_theirs.pk, "message": "Please help me install this eSIM on my phone."},
    )
    assert response.status_code == 200
    assert "line" in response.context["form"].errors
    assert not SupportRequest.objects.exists()
    assert not EmailDelivery.objects.exists()


def test_support_request_with_a_too_short_message_is_refused(client, customer):
    client.force_login(customer)
    response = client.post(reverse("accounts:support"), {"topic": "other", "message": "help"})
    assert response.status_code == 200
    assert "message" in response.context["form"].errors
    assert not SupportRequest.objects.exists()
