"""Sensitive changes need a fresh "confirm it's you" (the password, or the authenticator's code
when two-step log-in is on), good for ten minutes; a log-in counts as one."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.reauth import REAUTH_AT_KEY
from tests.factories import PASSWORD
from tests.security.helpers import app_code, authenticator_for

pytestmark = pytest.mark.django_db

CONFIRM = reverse("accounts:reauth")
EMAIL = reverse("accounts:email_change")
PASSWORD_CHANGE = reverse("accounts:password_change")
SECURITY = reverse("accounts:security")
START = reverse("accounts:two_factor_start")


def stale(client: Client) -> None:
    """As if the log-in (or the last confirmation) was long ago."""
    session = client.session
    session.pop(REAUTH_AT_KEY, None)
    session.save()


@pytest.fixture
def logged_in(client: Client, customer: User) -> Client:
    client.force_login(customer)
    stale(client)
    return client


@pytest.mark.parametrize("url", [EMAIL, PASSWORD_CHANGE])
def test_sensitive_pages_send_a_stale_session_to_confirm_and_back(logged_in, url):
    response = logged_in.get(url)
    assert response["Location"] == f"{CONFIRM}?next={url.replace('/', '%2F')}"
    page = logged_in.get(response["Location"])
    assert "Before this change, enter your password again." in page.content.decode()
    back = logged_in.post(CONFIRM, {"password": PASSWORD, "next": url})
    assert back["Location"] == url
    assert logged_in.get(url).status_code == 200


def test_password_change_with_a_stale_session_changes_nothing(logged_in, customer):
    response = logged_in.post(
        PASSWORD_CHANGE, {"new_password1": "green-Lake-2031!", "new_password2": "green-Lake-2031!"}
    )
    assert response["Location"].startswith(CONFIRM)
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_turning_two_step_on_with_a_stale_session_confirms_first_and_comes_back_to_the_security_page(
    logged_in, customer
):
    response = logged_in.post(START)
    assert response["Location"] == f"{CONFIRM}?next={SECURITY.replace('/', '%2F')}"
    assert not TOTPDevice.objects.filter(user=customer).exists()


def test_wrong_password_is_refused_with_a_message(logged_in):
    response = logged_in.post(CONFIRM, {"password": "nope", "next": EMAIL})
    assert response.status_code == 200
    assert "That password is not right." in response.content.decode()
    assert logged_in.get(EMAIL)["Location"].startswith(CONFIRM)


def test_confirmation_lasts_ten_minutes(logged_in):
    logged_in.post(CONFIRM, {"password": PASSWORD, "next": EMAIL})
    with time_machine.travel(timezone.now() + timedelta(minutes=9)):
        assert logged_in.get(EMAIL).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert logged_in.get(EMAIL)["Location"].startswith(CONFIRM)


def test_a_log_in_counts_as_a_confirmation(client, customer):
    client.post(reverse("accounts:login"), {"username": str(customer.phone), "password": PASSWORD})
    assert client.get(EMAIL).status_code == 200


@pytest.mark.parametrize("outside", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_confirm_goes_back_only_within_the_site(logged_in, outside):
    response = logged_in.post(CONFIRM, {"password": PASSWORD, "next": outside})
    assert response["Location"] == reverse("accounts:preferences")


def test_with_two_step_on_the_confirmation_is_the_authenticators_code(logged_in, customer):
    device = authenticator_for(customer)
    page = logged_in.get(CONFIRM).content.decode()
    assert "authenticator app" in page
    assert logged_in.post(CONFIRM, {"password": PASSWORD, "next": EMAIL}).status_code == 200
    assert logged_in.get(EMAIL)["Location"].startswith(CONFIRM)
    assert logged_in.post(CONFIRM, {"code": app_code(device), "next": EMAIL})["Location"] == EMAIL
    assert logged_in.get(EMAIL).status_code == 200


def test_confirm_page_is_for_logged_in_customers(client):
    assert client.get(CONFIRM)["Location"].startswith(reverse("accounts:login"))
