from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Registration, SmsCode, User
from tests.factories import PASSWORD, UserFactory
from tests.sms import code_in

pytestmark = pytest.mark.django_db
REGISTER = reverse("accounts:register")
VERIFY = reverse("accounts:verify")


def register(client, phone="+86 139 1234 5678", password="blue-River-1987!", email="new@example.com"):
    return client.post(REGISTER, {"phone": phone, "email": email, "password1": password, "password2": password})


def test_registering_sends_a_code_and_the_code_opens_the_account(client, sms_outbox):
    response = register(client)
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    # No account until the code is entered: what was typed waits with the code.
    assert not User.objects.filter(phone="+8613912345678").exists()
    assert Registration.objects.get(phone="+8613912345678").password.startswith("argon2")
    assert sms_outbox[-1].to == "+8613912345678"

    # Before the code, the account does not open the site.
    assert client.get(reverse("plans:home")).status_code == 302

    response = client.post(VERIFY, {"code": code_in(sms_outbox[-1])})
    assert response.status_code == 302
    assert response["Location"] == reverse("plans:home")
    user = User.objects.get(phone="+8613912345678")
    assert user.phone_verified
    assert user.check_password("blue-River-1987!")
    # The email waits for its link, like any new address (accounts.email_change).
    assert (user.email, user.email_pending, user.language) == ("", "new@example.com", "en")
    assert client.get(reverse("plans:home")).status_code == 200
    # The attempt is done: its password hash is not kept, and its page is gone.
    assert Registration.objects.get().password == ""
    assert client.get(VERIFY)["Location"] == REGISTER


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "Enter a mobile number"),
        ("not a number", "Enter a mobile number"),
        ("+86 139 1234 567", "Enter a mobile number"),
        ("+86 10 6552 9988", "not a mobile number"),
        ("", "This field is required"),
    ],
)
def test_malformed_number_is_refused_and_nothing_is_saved(client, sms_outbox, phone, message):
    response = register(client, phone=phone)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 0
    assert sms_outbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("8823471932", "entirely numeric"),
        ("new@example.com!", "too similar"),
    ],
)
def test_weak_password_is_refused(client, sms_outbox, password, message):
    response = register(client, password=password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == 0
    assert sms_outbox == []


def test_passwords_that_differ_are_refused(client):
    response = client.post(
        REGISTER, {"phone": "13912345678", "password1": "blue-River-1987!", "password2": "blue-River-1988!"}
    )
    assert "The two passwords are not the same" in response.content.decode()
    assert User.objects.count() == 0


def test_a_later_registration_cannot_take_over_an_unverified_one(client, sms_outbox):
    """The victim registers; the attacker registers the same number a minute later with his own
    password and email. The code that reaches the victim's phone for the attacker's attempt does
    not open the victim's page, nor the victim's code the attacker's; the victim's own code
    makes the account with the victim's password and email."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        register(client, password="first-Person-2020!", email="victim@example.com")
        victim_code = code_in(sms_outbox[-1])
        attacker = client.__class__(headers={"Accept-Language": "en"})
        traveller.shift(timedelta(seconds=61))
        response = register(attacker, password="second-Person-2021!", email="attacker@example.com")
        assert response["Location"] == VERIFY  # as for any new registration: nothing says one is under way
        attacker_code = code_in(sms_outbox[-1])
        assert [m.to for m in sms_outbox] == ["+8613912345678", "+8613912345678"]
        if attacker_code != victim_code:
            # The newest code on the phone belongs to the attacker's attempt, not the victim's.
            page = client.post(VERIFY, {"code": attacker_code}).content.decode()
            assert "That code is not right" in page
            assert "That code is not right" in attacker.post(VERIFY, {"code": victim_code}).content.decode()
        assert not User.objects.filter(phone="+8613912345678").exists()

        response = client.post(VERIFY, {"code": victim_code})
    assert response["Location"] == reverse("plans:home")
    user = User.objects.get(phone="+8613912345678")
    assert user.check_password("first-Person-2020!")
    assert user.email_pending == "victim@example.com"
    assert client.get(reverse("plans:home")).context["user"] == user
    # The attacker's attempt can no longer make an account, even with its own code.
    page = attacker.post(VERIFY, {"code": attacker_code}).content.decode()
    assert "already has an account. Log in instead." in page
    user.refresh_from_db()
    assert user.check_password("first-Person-2020!")
    assert user.email_pending == "victim@example.com"


def test_each_attempt_keeps_its_own_data_whichever_is_verified(client, sms_outbox):
    """Two attempts for one number: the one whose code is entered decides, with its own data."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        register(client, password="first-Person-2020!", email="one@example.com")
        other = client.__class__(headers={"Accept-Language": "zh-hans"})
        traveller.shift(timedelta(seconds=61))
        register(other, password="second-Person-2021!", email="two@example.com")
        second_code = code_in(sms_outbox[-1])
        assert other.post(VERIFY, {"code": second_code})["Location"] == reverse("plans:home")
    user = User.objects.get(phone="+8613912345678")
    assert user.check_password("second-Person-2021!")
    assert (user.email_pending, user.language) == ("two@example.com", "zh-hans")


def test_an_account_left_unverified_from_before_gets_the_data_of_the_attempt_verified(client, sms_outbox):
    old = UserFactory.create(phone="+8613912345678", email="old@example.com", phone_verified_at=None)
    register(client, password="first-Person-2020!", email="new@example.com")
    old.refresh_from_db()
    assert old.check_password(PASSWORD)  # a registration alone changes nothing
    client.post(VERIFY, {"code": code_in(sms_outbox[-1])})
    old.refresh_from_db()
    assert old.phone_verified
    assert old.check_password("first-Person-2020!")
    assert (old.email, old.email_pending) == ("", "new@example.com")
    assert User.objects.count() == 1


def test_wrong_code_six_times_locks_the_code_with_a_clear_message(client, sms_outbox):
    register(client)
    right = code_in(sms_outbox[-1])
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    pages = [client.post(VERIFY, {"code": wrong}).content.decode() for _ in range(5)]
    assert "4 tries left" in pages[0]
    assert "Too many wrong tries" in pages[4]
    sixth = client.post(VERIFY, {"code": right}).content.decode()
    assert "Too many wrong tries. Ask for a new code." in sixth
    assert not User.objects.filter(phone="+8613912345678").exists()


def test_expired_code_is_refused_and_a_new_one_works(client, sms_outbox):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        register(client)
        old = code_in(sms_outbox[-1])
        traveller.shift(timedelta(minutes=11))
        page = client.post(VERIFY, {"code": old}).content.decode()
        assert "This code has expired" in page
        client.post(reverse("accounts:verify_resend"))
        assert len(sms_outbox) == 2
        response = client.post(VERIFY, {"code": code_in(sms_outbox[-1])})
    assert response.status_code == 302
    assert User.objects.get(phone="+8613912345678").phone_verified


def test_resend_too_soon_says_how_long_to_wait(client, sms_outbox):
    register(client)
    response = client.post(reverse("accounts:verify_resend"), follow=True)
    assert "You can ask for another in" in response.content.decode()
    assert len(sms_outbox) == 1


def test_code_that_is_not_six_digits_is_a_form_error(client, sms_outbox):
    register(client)
    page = client.post(VERIFY, {"code": "12ab56"}).content.decode()
    assert "The code is the 6 digits in the SMS" in page
    assert SmsCode.objects.get().attempts == 0


def test_verify_page_without_a_registration_goes_back_to_register(client):
    response = client.get(VERIFY)
    assert response.status_code == 302
    assert response["Location"] == REGISTER
