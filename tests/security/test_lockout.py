"""Lockouts after wrong passwords (django-axes, accounts.lockout): counted per account whatever
name was typed, applied to that account from that address; elsewhere the right password still
logs in after a delay, and a password reset by SMS code always lets the owner in."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts import lockout
from tests.factories import PASSWORD, UserFactory
from tests.sms import code_in

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
HOME = reverse("plans:home")
HERE, ELSEWHERE = "10.1.1.1", "10.2.2.2"
WRONG = "wrong-guess"


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The delays the log-in waited, instead of waiting them."""
    waits: list[float] = []
    monkeypatch.setattr(lockout, "sleep", waits.append)
    return waits


def browser(address: str) -> Client:
    return Client(headers={"Accept-Language": "en"}, REMOTE_ADDR=address)


def tries(client: Client, *logins: str, password: str = WRONG) -> list[int]:
    return [client.post(LOGIN, {"username": login, "password": password}).status_code for login in logins]


@pytest.mark.parametrize(
    "logins",
    [
        ["+8613800138000", "13800138000", "138-0013-8000", "Demo@Example.com", "+86 138 0013 8000"],
        ["13800138000", "138 0013 8000", "008613800138000", "demo@example.com", "DEMO@example.com"],
    ],
    ids=["any-writing-and-email", "three-by-number-two-by-email"],
)
def test_wrong_passwords_lock_the_account_from_that_address_whatever_name_was_typed(customer, clock, slept, logins):
    UserFactory.create(phone="+8613911112222")
    here = browser(HERE)
    assert tries(here, *logins) == [200, 200, 200, 200, 429]
    for login in ["demo@example.com", "13800138000", "+86 138 0013 8000"]:
        locked = here.post(LOGIN, {"username": login, "password": PASSWORD})
        assert locked.status_code == 429
        assert "Too many tries" in locked.content.decode()
    assert "_auth_user_id" not in here.session
    # It is the account that is locked, not the address: another account logs in from here.
    assert tries(browser(HERE), "13911112222", password=PASSWORD) == [302]
    # Released after the cool-off.
    clock.shift(timedelta(minutes=16))
    assert tries(here, "demo@example.com", password=PASSWORD) == [302]


def test_failures_by_number_and_by_email_from_two_addresses_add_up(customer, clock, slept):
    assert tries(browser(HERE), *["13800138000"] * 4) == [200] * 4
    assert tries(browser(ELSEWHERE), *["demo@example.com"] * 4) == [200] * 4
    assert slept == [0.5, 1.0, 2.0]
    # Neither address reached the limit; a third waits for all eight failures.
    assert tries(browser("10.3.3.3"), "138 0013 8000", password=PASSWORD) == [302]
    assert slept == [0.5, 1.0, 2.0, 4.0]


def test_locked_account_still_logs_in_from_another_address_after_a_delay(customer, clock, slept):
    assert tries(browser(HERE), *["13800138000"] * 5) == [200, 200, 200, 200, 429]
    assert slept == []  # no delay before the limit
    elsewhere = browser(ELSEWHERE)
    response = elsewhere.post(LOGIN, {"username": "demo@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == HOME
    assert elsewhere.get(HOME).context["user"] == customer
    assert slept == [0.5]
    # The address that failed stays locked out of the account.
    assert tries(browser(HERE), "13800138000", password=PASSWORD) == [429]


def test_delay_doubles_with_each_failure_beyond_the_limit_up_to_its_cap(customer, clock, slept):
    assert tries(browser(HERE), *["13800138000"] * 5) == [200, 200, 200, 200, 429]
    # Wrong passwords wait as long as the right one would, so the wait tells nothing.
    assert tries(browser("10.3.3.3"), *["13800138000"] * 4) == [200] * 4
    assert tries(browser("10.4.4.4"), "13800138000") == [200]
    assert slept == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [lockout.login_delay(failures=n) for n in (0, 4, 5, 6, 7, 8, 100_000)] == [0, 0, 0.5, 1, 2, 4, 4]


def test_delay_ends_with_the_cool_off(customer, clock, slept):
    tries(browser(HERE), *["13800138000"] * 5)
    clock.shift(timedelta(minutes=16))
    assert tries(browser(ELSEWHERE), "13800138000", password=PASSWORD) == [302]
    assert slept == []


def test_another_account_logs_in_from_the_locked_out_address(customer, clock, slept):
    UserFactory.create(phone="+8613911112222")
    here = browser(HERE)
    tries(here, *["13800138000"] * 5)
    assert tries(here, "13911112222", password=PASSWORD) == [302]
    assert slept == []


def test_staff_member_logs_in_from_an_address_where_a_customer_is_locked_out(customer, clock, slept):
    UserFactory.create(phone="+8613911113333", username="admin", is_staff=True)
    here = browser(HERE)
    tries(here, *["13800138000"] * 5)
    assert tries(here, "admin", password=PASSWORD) == [302]
    assert here.get(HOME).context["user"].username == "admin"


def test_staff_name_and_number_count_as_one_account(clock, slept):
    UserFactory.create(phone="+8613911113333", username="admin", is_staff=True)
    here = browser(HERE)
    assert tries(here, "admin", "admin", "13911113333", "13911113333", "admin") == [200, 200, 200, 200, 429]


def test_names_of_no_account_lock_the_same_way(customer, clock, slept):
    """A guesser sees the same answers for a number with an account and one without."""
    known = tries(browser(HERE), "13800138000", "138 0013 8000", "+8613800138000", "13800138000", "13800138000")
    unknown = tries(browser(HERE), "13911110000", "139 1111 0000", "+8613911110000", "13911110000", "13911110000")
    assert known == unknown == [200, 200, 200, 200, 429]
    assert tries(browser(ELSEWHERE), "13800138000", "13911110000") == [200, 200]
    assert slept == [0.5, 0.5]


def test_password_reset_by_sms_works_while_locked_and_lets_the_owner_in(customer, clock, slept, sms_outbox):
    here = browser(HERE)
    tries(here, *["13800138000"] * 5)
    assert here.post(reverse("accounts:password_reset"), {"phone": "138 0013 8000"}).status_code == 302
    new_password = "green-Lake-2031!"
    response = here.post(
        reverse("accounts:password_reset_confirm"),
        {"code": code_in(sms_outbox[-1]), "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    # Logged in at once with the new password, from the address that was locked out, without delay.
    assert tries(here, "demo@example.com", password=new_password) == [302]
    assert slept == []
