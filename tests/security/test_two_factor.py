"""Two-step log-in with an authenticator app: turning it on and off, logging in with a code or
a recovery code, wrong codes, and the admin, which staff reach only with it."""

from base64 import b32encode
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.enrolment import enrolment_code_create
from accounts.models import User
from accounts.views.login import TWO_FACTOR_LOGIN_KEY
from tests.factories import PASSWORD
from tests.security.helpers import app_code, authenticator_for, log_in_with_second_step

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
CODE = reverse("accounts:login_code")
HOME = reverse("plans:home")
SECURITY = reverse("accounts:security")
START = reverse("accounts:two_factor_start")
SETUP = reverse("accounts:two_factor_setup")
OFF = reverse("accounts:two_factor_disable")
ADMIN = reverse("admin:index")


@pytest.fixture
def protected(customer: User) -> TOTPDevice:
    """The customer has two-step log-in on."""
    return authenticator_for(customer)


@pytest.fixture
def totp_clock():
    """A stopped clock at the start of a 30-second TOTP step; ``totp_clock.shift(seconds)`` moves it."""
    start = timezone.now().replace(microsecond=0)
    start -= timedelta(seconds=start.second % 30)
    with time_machine.travel(start, tick=False) as traveller:
        yield traveller


def logged_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def password_step(client: Client, next_url: str = "") -> None:
    response = client.post(
        LOGIN + (f"?next={next_url}" if next_url else ""), {"username": "13800138000", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == CODE


# --- Turning it on and off ------------------------------------------------------------------


def test_customer_turns_it_on_with_the_qr_code_and_a_first_code_and_gets_ten_recovery_codes(client, customer):
    client.force_login(customer)
    page = client.get(SECURITY).content.decode()
    assert "Off." in page
    assert client.post(START)["Location"] == SETUP
    device = TOTPDevice.objects.get(user=customer)
    assert not device.confirmed

    setup = client.get(SETUP)
    page = setup.content.decode()
    assert '<div class="qr"><svg viewBox=' in page
    secret = b32encode(device.bin_key).decode()
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    assert device.config_url.startswith("otpauth://totp/Boom%3A%2B86%20138%200013%208000?secret=")

    wrong = client.post(SETUP, {"code": "000000" if app_code(device) != "000000" else "111111"})
    assert "That code is not right." in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        before = client.session.session_key
        shown = client.post(SETUP, {"code": app_code(device)})
        assert shown.status_code == 200
        assert "no-store" in shown["Cache-Control"]
        codes = shown.context["codes"]
        assert len(codes) == 10
        assert len(set(codes)) == 10
        assert all(code in shown.content.decode() for code in codes)
        # The code proved the app: the session counts as verified, under a new key.
        assert client.session.session_key != before
        assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    device.refresh_from_db()
    assert device.confirmed
    assert sorted(StaticToken.objects.filter(device__user=customer).values_list("token", flat=True)) == sorted(codes)
    page = client.get(SECURITY).content.decode()
    assert "On." in page
    assert "You have 10 recovery codes left." in page
    # The codes are shown once: the set-up page is gone.
    assert client.get(SETUP)["Location"] == SECURITY


def test_setup_is_for_logged_in_customers_only(client):
    assert client.get(SETUP)["Location"].startswith(LOGIN)
    assert client.post(START)["Location"].startswith(LOGIN)
    assert client.get(SECURITY)["Location"].startswith(LOGIN)


def test_turning_it_on_again_while_on_changes_nothing(client, customer, protected):
    client.force_login(customer)
    assert client.post(START, follow=True).redirect_chain[-1][0] == SECURITY
    assert list(TOTPDevice.objects.filter(user=customer)) == [protected]


def test_turning_it_off_needs_a_current_code(client, customer, protected, totp_clock):
    client.force_login(customer)
    response = client.post(OFF, {"code": "12345"})
    assert response.status_code == 200
    assert "That code is not right." in response.content.decode()
    assert TOTPDevice.objects.filter(user=customer).exists()
    totp_clock.shift(2)
    response = client.post(OFF, {"code": app_code(protected)})
    assert response["Location"] == SECURITY
    assert not TOTPDevice.objects.filter(user=customer).exists()
    client.post(reverse("accounts:logout"))
    # Off: the password alone logs in again.
    assert client.post(LOGIN, {"username": "13800138000", "password": PASSWORD})["Location"] == HOME


# --- Logging in -----------------------------------------------------------------------------


def test_right_password_alone_does_not_log_in_and_the_code_does_with_a_new_session_key(client, protected, totp_clock):
    password_step(client)
    assert logged_in_user_id(client) is None
    assert client.get(HOME)["Location"].startswith(LOGIN)
    page = client.get(CODE)
    assert page.status_code == 200
    assert "authenticator app" in page.content.decode()
    before = client.session.session_key

    response = client.post(CODE, {"code": app_code(protected)})
    assert response["Location"] == HOME
    assert logged_in_user_id(client) == str(protected.user_id)
    assert client.session.session_key != before
    assert client.session[DEVICE_ID_SESSION_KEY] == protected.persistent_id
    assert TWO_FACTOR_LOGIN_KEY not in client.session
    assert client.get(HOME).status_code == 200


def test_code_step_keeps_where_the_customer_was_going(client, protected, totp_clock):
    password_step(client, next_url="/notices/")
    assert client.post(CODE, {"code": app_code(protected)})["Location"] == "/notices/"


def test_code_step_without_the_password_step_goes_back_to_log_in(client, protected):
    assert client.get(CODE)["Location"] == LOGIN
    assert client.post(CODE, {"code": app_code(protected)})["Location"] == LOGIN
    assert logged_in_user_id(client) is None


def test_code_step_expires_after_five_minutes(client, protected, totp_clock):
    password_step(client)
    totp_clock.shift(5 * 60 + 1)
    response = client.post(CODE, {"code": app_code(protected)}, follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "Log in again" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_a_code_works_once_even_within_its_thirty_seconds(client, protected, totp_clock):
    password_step(client)
    code = app_code(protected)
    assert client.post(CODE, {"code": code})["Location"] == HOME
    client.post(reverse("accounts:logout"))
    totp_clock.shift(1)
    password_step(client)
    response = client.post(CODE, {"code": code})
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_recovery_code_logs_in_once(client, customer, totp_clock):
    client.force_login(customer)
    client.post(START)
    device = TOTPDevice.objects.get(user=customer)
    codes = client.post(SETUP, {"code": app_code(device)}).context["codes"]
    client.post(reverse("accounts:logout"))

    password_step(client)
    # Typed as people do: upper case, with a space.
    typed = f"{codes[3][:4].upper()} {codes[3][4:]}"
    assert client.post(CODE, {"code": typed})["Location"] == HOME
    assert StaticToken.objects.filter(device__user=customer).count() == 9
    client.post(reverse("accounts:logout"))

    totp_clock.shift(2)
    password_step(client)
    again = client.post(CODE, {"code": codes[3]})
    assert again.status_code == 200
    assert "That code is not right. 4 tries left." in again.content.decode()
    assert logged_in_user_id(client) is None
    totp_clock.shift(2)
    assert client.post(CODE, {"code": codes[4]})["Location"] == HOME


def test_five_wrong_codes_go_back_to_the_password_step(client, protected, totp_clock):
    password_step(client)
    wrong = "000000" if app_code(protected) != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = client.post(CODE, {"code": wrong})
        assert response.status_code == 200
        assert f"That code is not right. {left} tr" in response.content.decode()
        # Each wrong code makes the next try wait longer (1, 2, 4, 8 seconds): let it pass.
        totp_clock.shift(2 ** (4 - left) + 1)
    response = client.post(CODE, {"code": wrong}, follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "Too many wrong codes. Log in again." in response.content.decode()
    assert TWO_FACTOR_LOGIN_KEY not in client.session
    # The right code now is no use without the password again.
    totp_clock.shift(30)
    assert client.post(CODE, {"code": app_code(protected)})["Location"] == LOGIN
    assert logged_in_user_id(client) is None


def test_right_code_right_after_a_wrong_one_waits_for_the_device(client, protected, totp_clock):
    password_step(client)
    client.post(CODE, {"code": "000000" if app_code(protected) != "000000" else "111111"})
    totp_clock.shift(1)
    response = client.post(CODE, {"code": app_code(protected)})
    # The device wants 1 s after one wrong code; at exactly 1 s it lets it through.
    assert response["Location"] == HOME

    client.post(reverse("accounts:logout"))
    totp_clock.shift(30)
    password_step(client)
    client.post(CODE, {"code": "000000" if app_code(protected) != "000000" else "111111"})
    waiting = client.post(CODE, {"code": app_code(protected)})
    assert waiting.status_code == 200
    assert "Please wait 1 second and try again." in waiting.content.decode()
    assert logged_in_user_id(client) is None


@pytest.mark.parametrize("typed", ["", " ", "12345", "1234567", "abc", "٣٣٣٣٣٣", "x" * 200, "000000\x00"])
def test_odd_codes_get_a_form_error_never_a_500(client, protected, typed, totp_clock):
    password_step(client)
    response = client.post(CODE, {"code": typed})
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_account_closed_during_the_code_step_cannot_log_in(client, customer, protected, totp_clock):
    password_step(client)
    User.objects.filter(pk=customer.pk).update(is_active=False)
    assert client.post(CODE, {"code": app_code(protected)})["Location"] == LOGIN
    assert logged_in_user_id(client) is None


def test_service_refuses_a_wrong_code_and_counts_it_for_the_device(customer, protected, totp_clock):
    with pytest.raises(ValidationError) as error:
        services.two_factor_verify(user=customer, code="not-a-code")
    assert error.value.code == "wrong"
    with pytest.raises(ValidationError):
        services.two_factor_verify(user=customer, code="000000" if app_code(protected) != "000000" else "111111")
    protected.refresh_from_db()
    assert protected.throttling_failure_count == 1
    totp_clock.shift(1)
    assert services.two_factor_verify(user=customer, code=app_code(protected)) == protected
    protected.refresh_from_db()
    assert protected.throttling_failure_count == 0


# --- The admin ------------------------------------------------------------------------------


def test_staff_logged_in_without_an_authenticator_are_sent_to_set_one_up_then_reach_the_admin(
    client, staff, totp_clock
):
    assert client.post(LOGIN, {"username": "ops", "password": PASSWORD})["Location"] == HOME
    response = client.get(ADMIN, follow=True)
    assert [url for url, _status in response.redirect_chain] == [f"/admin/login/?next={ADMIN}", SECURITY]
    assert "Staff need two-step log-in to use the admin." in response.content.decode()
    assert client.get(reverse("admin:plans_line_changelist")).status_code == 302

    client.post(START, {"enrolment_code": enrolment_code_create(user=staff).code})
    device = TOTPDevice.objects.get(user=staff)
    codes_page = client.post(SETUP, {"code": app_code(device)})
    assert f'href="{ADMIN}"' in codes_page.content.decode()
    assert client.get(ADMIN).status_code == 200
    assert client.get(reverse("admin:plans_line_changelist")).status_code == 200


def test_staff_with_an_authenticator_log_in_with_password_and_code_to_reach_the_admin(client, staff, totp_clock):
    device = authenticator_for(staff)
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next={ADMIN}"
    response = client.post(f"{LOGIN}?next={ADMIN}", {"username": "ops", "password": PASSWORD})
    assert response["Location"] == CODE
    assert client.get(ADMIN)["Location"].startswith("/admin/login/")
    assert client.post(CODE, {"code": app_code(device)})["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_staff_session_that_skipped_the_code_must_log_in_again_for_the_admin(client, staff):
    authenticator_for(staff)
    client.force_login(staff)
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next={ADMIN}"
    assert "Log in again with the code" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_verified_staff_session_reaches_the_admin(client, staff):
    log_in_with_second_step(client, staff)
    assert client.get(ADMIN).status_code == 200
    # The admin's own log-in address sends a verified member straight on.
    assert client.get(reverse("admin:login"), {"next": "/admin/accounts/"})["Location"] == "/admin/accounts/"


def test_admin_log_in_refuses_an_outside_next_address(client, staff):
    log_in_with_second_step(client, staff)
    assert client.get(reverse("admin:login"), {"next": "https://evil.example/"})["Location"] == ADMIN


def test_customer_with_two_step_log_in_still_cannot_use_the_admin(client, customer, protected):
    log_in_with_second_step(client, customer)
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0] == HOME
    assert "This account cannot use the admin." in response.content.decode()


def test_anonymous_visitor_is_sent_from_the_admin_to_the_log_in_page(client):
    response = client.get(reverse("admin:plans_line_changelist"), follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=/admin/plans/line/"
