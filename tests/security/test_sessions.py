"""A logged-in session ends after 30 minutes without a request, and 12 hours after the log-in
whatever the customer does; both limits come from the settings (the environment)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.middleware import LOGGED_IN_AT_KEY
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
HOME = reverse("plans:home")


def log_in(client) -> None:
    assert client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})["Location"] == HOME


def test_defaults_are_thirty_minutes_idle_and_twelve_hours_in_all():
    assert settings.SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_MAX_HOURS == 12
    # The cookie does not outlive the longest session either.
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60


def test_thirty_minutes_without_a_request_log_the_customer_out(client, customer, clock):
    log_in(client)
    clock.shift(timedelta(minutes=29))
    assert client.get(HOME).status_code == 200
    # Each request starts the idle time again.
    clock.shift(timedelta(minutes=29))
    assert client.get(HOME).status_code == 200
    clock.shift(timedelta(minutes=30, seconds=61))
    response = client.get(HOME, follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=/"
    assert "You were logged out after 30 minutes without activity." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_twelve_hours_after_log_in_the_customer_is_logged_out_however_busy(client, customer, clock):
    log_in(client)
    for _ in range(35):  # 11 h 40 min of a request every 20 minutes
        clock.shift(timedelta(minutes=20))
        assert client.get(HOME).status_code == 200
    clock.shift(timedelta(minutes=21))
    response = client.get(HOME, follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=/"
    assert "For your safety you are logged out 12 hours after logging in." in response.content.decode()
    # Logging in again starts a new twelve hours.
    log_in(client)
    assert client.get(HOME).status_code == 200


def test_both_limits_come_from_the_settings(client, customer, clock, settings):
    settings.SESSION_IDLE_MINUTES = 5
    settings.SESSION_MAX_HOURS = 1
    log_in(client)
    clock.shift(timedelta(minutes=6, seconds=1))
    assert client.get(HOME)["Location"] == f"{LOGIN}?next=/"

    log_in(client)
    for _ in range(14):  # 56 minutes
        clock.shift(timedelta(minutes=4))
        assert client.get(HOME).status_code == 200
    clock.shift(timedelta(minutes=4, seconds=2))
    assert client.get(HOME)["Location"] == f"{LOGIN}?next=/"


def test_session_from_before_the_limits_is_ended(client, customer):
    client.force_login(customer)
    session = client.session
    del session[LOGGED_IN_AT_KEY]
    session.save()
    assert client.get(HOME)["Location"] == f"{LOGIN}?next=/"


def test_a_busy_customer_costs_one_session_write_a_minute_not_one_a_request(client, customer, clock):
    log_in(client)
    clock.shift(10)
    assert "sessionid" not in client.get(HOME).cookies
    clock.shift(50)
    assert "sessionid" in client.get(HOME).cookies
    clock.shift(5)
    assert "sessionid" not in client.get(HOME).cookies


def test_visitors_who_are_not_logged_in_get_no_session(client, clock):
    client.get(LOGIN)
    clock.shift(timedelta(hours=1))
    response = client.get(LOGIN)
    assert "sessionid" not in response.cookies
    assert "sessionid" not in client.cookies
