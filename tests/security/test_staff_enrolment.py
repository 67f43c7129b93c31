"""Staff set up their authenticator only with a one-time enrolment code: a staff password alone
does not get into the admin. And the demo's seeding never touches an account it did not make."""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.demo import ADMIN_PASSWORD, ADMIN_USERNAME, DEMO_PASSWORD, DEMO_PHONE
from accounts.enrolment import enrolment_code_create
from accounts.models import EnrolmentCode, User
from tests.factories import PASSWORD, UserFactory
from tests.security.helpers import app_code, log_in_with_second_step
from tests.test_project import PRODUCTION_ENV, manage

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
SECURITY = reverse("accounts:security")
START = reverse("accounts:two_factor_start")
SETUP = reverse("accounts:two_factor_setup")
ADMIN = reverse("admin:index")
CODE_PATTERN = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def log_in(client: Client, username: str = "ops", password: str = PASSWORD) -> None:
    assert client.post(LOGIN, {"username": username, "password": password}).status_code == 302


def enrol(client: Client, enrolment_code: str) -> TOTPDevice:
    """Start the set-up with ``enrolment_code`` and confirm it with the app's first code."""
    assert client.post(START, {"enrolment_code": enrolment_code})["Location"] == SETUP
    device = TOTPDevice.objects.get(confirmed=False)
    assert client.post(SETUP, {"code": app_code(device)}).status_code == 200
    return device


def test_staff_with_only_a_password_cannot_set_up_an_authenticator_nor_reach_the_admin(client, staff):
    log_in(client)
    page = client.get(ADMIN, follow=True)
    assert page.redirect_chain[-1][0] == SECURITY
    assert 'name="enrolment_code"' in page.content.decode()
    response = client.post(START, follow=True)
    assert response.redirect_chain[-1][0] == SECURITY
    assert "Staff need an enrolment code" in response.content.decode()
    assert client.post(START, {"enrolment_code": "ABCD-EFGH-JKMN-PQRS"}, follow=True).redirect_chain[-1][0] == SECURITY
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert client.get(SETUP)["Location"] == SECURITY
    assert client.get(ADMIN)["Location"].startswith(reverse("admin:login"))
    with pytest.raises(Exception, match="enrolment code"):
        services.two_factor_setup_start(user=staff)


def test_staff_with_a_valid_code_enrol_and_reach_the_admin_and_the_code_works_once(client, staff):
    made = enrolment_code_create(user=staff)
    log_in(client)
    client.get(ADMIN)
    # Typed in lower case with spaces: still the code.
    device = enrol(client, made.code.lower().replace("-", " "))
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(ADMIN).status_code == 200
    code = EnrolmentCode.objects.get(user=staff)
    assert code.used_at is not None
    assert code.device == device

    # The authenticator deleted (a lost phone): the used code does not set up another one.
    TOTPDevice.objects.filter(user=staff).delete()
    response = client.post(START, {"enrolment_code": made.code}, follow=True)
    assert "That enrolment code was used already." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_a_code_older_than_24_hours_is_refused(client, staff):
    made = enrolment_code_create(user=staff)
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        log_in(client)
        response = client.post(START, {"enrolment_code": made.code}, follow=True)
    assert "That enrolment code has expired." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_a_code_that_expires_between_start_and_confirm_does_not_confirm(client, staff):
    made = enrolment_code_create(user=staff)
    with time_machine.travel(made.expires_at - timedelta(seconds=30), tick=False) as clock:
        log_in(client)
        assert client.post(START, {"enrolment_code": made.code})["Location"] == SETUP
        device = TOTPDevice.objects.get(user=staff)
        clock.shift(31)
        response = client.post(SETUP, {"code": app_code(device)}, follow=True)
    assert response.redirect_chain[-1][0] == SECURITY
    assert "Your enrolment code has expired." in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed


def test_another_staff_members_code_and_an_older_code_are_refused(client, staff):
    other = UserFactory.create(username="ops2", is_staff=True)
    theirs = enrolment_code_create(user=other)
    older = enrolment_code_create(user=staff)
    enrolment_code_create(user=staff)
    log_in(client)
    assert (
        "That enrolment code is not right."
        in client.post(START, {"enrolment_code": theirs.code}, follow=True).content.decode()
    )
    assert "has expired" in client.post(START, {"enrolment_code": older.code}, follow=True).content.decode()
    assert not TOTPDevice.objects.filter(user=staff).exists()


def test_customers_set_up_two_step_log_in_without_a_code(client):
    customer = UserFactory.create(phone="+8613800138000")
    client.force_login(customer)
    assert 'name="enrolment_code"' not in client.get(SECURITY).content.decode()
    enrol(client, "")
    assert TOTPDevice.objects.get(user=customer).confirmed


def test_codes_are_for_active_staff_only():
    with pytest.raises(Exception, match="not an active staff member"):
        enrolment_code_create(user=UserFactory.create())
    assert not EnrolmentCode.objects.exists()


def test_the_command_prints_a_working_code(client, staff):
    out = io.StringIO()
    call_command("staff_enrolment_code", "ops", stdout=out)
    found = CODE_PATTERN.search(out.getvalue())
    assert found is not None
    assert EnrolmentCode.objects.get(user=staff).created_by is None
    log_in(client)
    enrol(client, found.group())
    assert client.get(ADMIN).status_code == 200


def test_the_command_finds_staff_by_phone_and_refuses_customers(staff):
    out = io.StringIO()
    call_command("staff_enrolment_code", str(staff.phone), stdout=out)
    assert CODE_PATTERN.search(out.getvalue())
    customer = UserFactory.create()
    with pytest.raises(CommandError, match="not an active staff member"):
        call_command("staff_enrolment_code", str(customer.phone))
    with pytest.raises(CommandError, match="No account"):
        call_command("staff_enrolment_code", "nobody")


def test_staff_make_a_code_in_the_admin_shown_once(client, staff):
    newcomer = UserFactory.create(username="newcomer", is_staff=True)
    customer = UserFactory.create()
    log_in_with_second_step(client, staff)
    changelist = reverse("admin:accounts_user_changelist")
    response = client.post(
        changelist,
        {"action": "enrolment_code_make", "_selected_action": [newcomer.pk, customer.pk]},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    codes = CODE_PATTERN.findall(page)
    assert len(codes) == 1
    made = EnrolmentCode.objects.get()
    assert (made.user, made.created_by) == (newcomer, staff)
    assert "not an active staff member" in page

    other = Client()
    log_in(other, "newcomer")
    enrol(other, codes[0])
    assert other.get(ADMIN).status_code == 200


# --- seed_demo -------------------------------------------------------------------------------


def test_seed_demo_prints_an_enrolment_code_for_the_demo_admin(client):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    found = CODE_PATTERN.search(out.getvalue())
    assert found is not None
    log_in(client, ADMIN_USERNAME, ADMIN_PASSWORD)
    enrol(client, found.group())
    assert client.get(ADMIN).status_code == 200
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert CODE_PATTERN.search(again.getvalue()) is None
    assert "set up already" in again.getvalue()


def test_seed_demo_refuses_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="does not run in production"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_refuses_with_django_env_production():
    # A database that cannot be reached: the command must stop before it looks.
    result = manage("seed_demo", **{**PRODUCTION_ENV, "DATABASE_URL": "postgres://postgres@127.0.0.1:1/none"})
    assert result.returncode != 0
    assert "does not run in production" in result.stderr


@pytest.mark.parametrize(
    "holder",
    [
        {"username": ADMIN_USERNAME, "is_staff": False},
        {"phone": DEMO_PHONE},
        {"email": "Demo@boom.example"},
    ],
)
def test_seed_demo_leaves_an_account_it_did_not_create_alone(holder):
    someone = UserFactory.create(**holder)
    before = User.objects.values().get(pk=someone.pk)
    with pytest.raises(CommandError, match="was not made by seed_demo"):
        call_command("seed_demo")
    assert User.objects.values().get(pk=someone.pk) == before
    assert User.objects.count() == 1
    someone.refresh_from_db()
    assert someone.check_password(PASSWORD)
    assert not someone.check_password(DEMO_PASSWORD)
    assert not someone.check_password(ADMIN_PASSWORD)
