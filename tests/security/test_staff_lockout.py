"""Staff and customers are locked out apart: customers' failed log-ins from an address (their
lockout, and the posts they keep making after it) never stop staff logging in from that address,
and staff's never stop customers. django-axes locks per account (tests/security/test_lockout.py);
the per-address cap on log-in posts is counted apart for staff names and for numbers and emails
(``accounts.lockout.login_rate_limit``)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts import lockout
from accounts.models import User
from tests.factories import PASSWORD
from tests.security.helpers import app_code, authenticator_for

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
CODE = reverse("accounts:login_code")
ADMIN = reverse("admin:index")
HERE = "10.1.1.1"
WRONG = "wrong-guess"
# More wrong posts in a minute than the per-address cap (20/m) lets through.
PRESSING_ON = 25


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(lockout, "sleep", waits.append)
    return waits


def browser(address: str = HERE) -> Client:
    return Client(headers={"Accept-Language": "en"}, REMOTE_ADDR=address)


def wrong_tries(client: Client, login: str, count: int) -> list[int]:
    return [client.post(LOGIN, {"username": login, "password": WRONG}).status_code for _ in range(count)]


def staff_logs_in(client: Client, staff: User) -> int:
    """The admin's log-in: the staff name and password, then the code; the admin's status."""
    device = authenticator_for(staff)
    assert client.post(LOGIN, {"username": staff.username, "password": PASSWORD, "next": ADMIN})["Location"] == CODE
    assert client.post(CODE, {"code": app_code(device)})["Location"] == ADMIN
    return client.get(ADMIN).status_code


def test_a_customer_locked_out_and_pressing_on_does_not_lock_staff_out_of_their_address(customer, staff, clock, slept):
    statuses = wrong_tries(browser(), "13800138000", PRESSING_ON)
    assert statuses[:5] == [200, 200, 200, 200, 429]  # the customer's lockout (django-axes)
    assert set(statuses[5:]) == {429}
    # Another customer from the address is held up by the cap on posts from it...
    assert browser().post(LOGIN, {"username": "demo@example.com", "password": PASSWORD}).status_code == 429
    # ...but staff, from the same address, log in and reach the admin.
    assert staff_logs_in(browser(), staff) == 200


def test_staff_failures_do_not_lock_customers_out_of_the_same_address(customer, staff, clock, slept):
    statuses = wrong_tries(browser(), "ops", PRESSING_ON)
    assert statuses[:5] == [200, 200, 200, 200, 429]
    assert set(statuses[5:]) == {429}
    response = browser().post(LOGIN, {"username": "138 0013 8000", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("plans:home")


def test_staff_names_of_no_account_count_against_the_staff_cap(customer, staff, clock, slept):
    """Which cap a post counts against is told by how the name is written, not by the database:
    the cap tells a guesser nothing of which staff names exist, and one address trying many
    names is still held to it."""
    guesses = [browser().post(LOGIN, {"username": f"guess{n}", "password": WRONG}) for n in range(20)]
    assert [response.status_code for response in guesses] == [200] * 20
    assert browser().post(LOGIN, {"username": "ops", "password": PASSWORD}).status_code == 429
    assert browser().post(LOGIN, {"username": "13800138000", "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    ("login", "limit"),
    [
        ("ops", "staff_login"),
        ("  ops ", "staff_login"),
        ("13800138000", "login"),
        ("+86 138-0013-8000", "login"),
        ("Demo@Example.com", "login"),
        ("", "login"),
    ],
)
def test_the_limit_a_log_in_counts_against_is_told_by_the_name_typed(login, limit):
    assert lockout.login_rate_limit(login=login) == limit


def test_after_the_password_the_limit_is_the_accounts(customer, staff):
    assert lockout.login_rate_limit(user=staff) == "staff_login"
    assert lockout.login_rate_limit(user=customer) == "login"
