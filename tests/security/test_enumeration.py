"""Registering and resetting a password answer the same for a number (or an email) that has an
account as for one that has none: the same pages, messages and limits. A number that has an
account is warned by SMS instead of getting a code, and so is the account whose email someone
registered with."""

import difflib
import itertools
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from accounts import tasks
from accounts.models import User
from tests.factories import PASSWORD, UserFactory
from tests.sms import CODE, code_in

pytestmark = pytest.mark.django_db

REGISTER = reverse("accounts:register")
VERIFY = reverse("accounts:verify")
RESEND = reverse("accounts:verify_resend")
RESET = reverse("accounts:password_reset")
RESET_CONFIRM = reverse("accounts:password_reset_confirm")
KNOWN, KNOWN_TYPED = "+8613700137000", "137 0013 7000"
UNKNOWN, UNKNOWN_TYPED = "+8613911112222", "139 1111 2222"
NEW_PASSWORD = "blue-River-1987!"


@pytest.fixture
def customer_off_the_placeholder() -> User:
    """A customer whose number is not the one the phone field shows as its placeholder (the
    shared ``customer``'s): the pages are compared with the number typed masked out."""
    return UserFactory.create(phone=KNOWN, email="taken@example.com")


_addresses = itertools.count(1)


def browser() -> Client:
    """A browser from an address of its own, so that the limits per address stay out of the way."""
    return Client(headers={"Accept-Language": "en"}, REMOTE_ADDR=f"10.1.0.{next(_addresses) % 250 + 1}")


def page(response, *typed: str) -> str:
    """The page without what differs by design: the CSRF token, the scripts' nonce (new for each
    response) and the number as written."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    text = re.sub(r' nonce="[^"]*"', "", text)
    for number in typed:
        text = text.replace(number, "<number>")
    return text


def answer(response, *typed: str) -> tuple[int, str, list[str]]:
    return response.status_code, response.get("Location", ""), page(response, *typed).splitlines()


def assert_same(known, unknown) -> None:
    """The known number's answer is the unknown one's (a difference shows as the lines that differ)."""
    a, b = answer(known, *typed(KNOWN)), answer(unknown, *typed(UNKNOWN))
    assert a[:2] == b[:2]
    diff = list(difflib.unified_diff(a[2], b[2], "known", "unknown", lineterm="", n=0))
    assert not diff, "\n".join(diff)


def register(client: Client, phone: str, email: str = "", **extra):
    data = {"phone": phone, "email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return client.post(REGISTER, data, **extra)


def both(step, known_args=(KNOWN_TYPED,), unknown_args=(UNKNOWN_TYPED,)):
    """``step`` run for the known and the unknown number, each in a browser of its own."""
    known, unknown = browser(), browser()
    return (known, unknown), (step(known, *known_args), step(unknown, *unknown_args))


def typed(phone: str) -> list[str]:
    from phonenumber_field.phonenumber import PhoneNumber

    number = PhoneNumber.from_string(phone)
    as_typed = {KNOWN: KNOWN_TYPED, UNKNOWN: UNKNOWN_TYPED}.get(phone, "")
    return [text for text in (str(number), number.as_e164, as_typed) if text]


def test_register_answers_the_same_for_a_number_with_an_account(customer_off_the_placeholder, clock, sms_outbox):
    known, unknown = browser(), browser()
    first = [register(known, KNOWN_TYPED, follow=True), register(unknown, UNKNOWN_TYPED, follow=True)]
    assert_same(*first)
    assert first[0].redirect_chain == [(VERIFY, 302)]

    # The number with an account is warned, and gets no code; the other gets its code.
    warning, code_sms = sms_outbox
    assert (warning.to, code_sms.to) == (KNOWN, UNKNOWN)
    assert "already has one" in warning.body
    assert "log in or reset your password" in warning.body
    assert not CODE.search(warning.body)
    assert code_in(code_sms)

    # Within 60 s: the same "just sent" answer, from the register page and the new-code button.
    again = [register(browser(), KNOWN_TYPED), register(browser(), UNKNOWN_TYPED)]
    assert_same(*again)
    assert "A code was just sent" in again[0].content.decode()
    resent = [known.post(RESEND, follow=True), unknown.post(RESEND, follow=True)]
    assert_same(*resent)

    # Wrong codes count the same way on both verify pages.
    wrong = "000000" if code_in(code_sms) != "000000" else "111111"
    for _ in range(5):
        tries = [known.post(VERIFY, {"code": wrong}), unknown.post(VERIFY, {"code": wrong})]
        assert_same(*tries)

    # After 60 s a new code (for the known number: a new warning) goes out alike.
    clock.shift(timedelta(seconds=61))
    resent = [known.post(RESEND, follow=True), unknown.post(RESEND, follow=True)]
    assert_same(*resent)
    assert "A new code is on its way" in resent[0].content.decode()
    assert [m.to for m in sms_outbox[2:]] == [KNOWN, UNKNOWN]
    assert not CODE.search(sms_outbox[2].body)

    # The account is untouched, and the warning cannot be turned into a log-in.
    customer_off_the_placeholder.refresh_from_db()
    assert customer_off_the_placeholder.check_password(PASSWORD)
    assert customer_off_the_placeholder.email == "taken@example.com"
    assert "_auth_user_id" not in known.session


def test_register_answers_the_same_for_an_email_in_use_and_warns_its_account(
    customer_off_the_placeholder, clock, sms_outbox, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(tasks.email_in_use_warn_task, "apply_async", lambda args, **kw: queued.append(*args))
    taken, free = browser(), browser()
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            register(taken, "139 0000 0001", email="TAKEN@example.com", follow=True),
            register(free, "139 0000 0002", email="free@example.com", follow=True),
        ]
    assert answer(responses[0], *typed("+8613900000001")) == answer(responses[1], *typed("+8613900000002"))
    assert [m.to for m in sms_outbox] == ["+8613900000001", "+8613900000002"]

    # The account with the email is warned by SMS, off the request.
    assert queued == [customer_off_the_placeholder.pk]
    tasks.email_in_use_warn_task.run(customer_off_the_placeholder.pk)
    assert sms_outbox[-1].to == KNOWN
    assert "with your email address" in sms_outbox[-1].body

    # The registration goes on, without the email that belongs to someone else.
    taken.post(VERIFY, {"code": code_in(sms_outbox[0])})
    user = User.objects.get(phone="+8613900000001")
    assert user.phone_verified
    assert user.email == ""
    customer_off_the_placeholder.refresh_from_db()
    assert customer_off_the_placeholder.email == "taken@example.com"


def test_password_reset_answers_the_same_for_a_number_without_an_account(
    customer_off_the_placeholder, clock, sms_outbox
):
    (known, unknown), first = both(lambda c, p: c.post(RESET, {"phone": p}, follow=True))
    assert_same(*first)
    assert [m.to for m in sms_outbox] == [KNOWN]  # a number without an account is sent nothing

    # Within 60 s both are refused alike: the number without an account counted a code too.
    _, again = both(lambda c, p: c.post(RESET, {"phone": p}))
    assert_same(*again)
    assert "A code was just sent" in again[0].content.decode()

    # Wrong codes on the confirm page: the same "n tries left" for both, then the same end.
    wrong = "000000" if code_in(sms_outbox[0]) != "000000" else "111111"
    data = {"code": wrong, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    for _ in range(6):
        tries = [known.post(RESET_CONFIRM, data), unknown.post(RESET_CONFIRM, data)]
        assert_same(*tries)
    assert "Too many wrong tries" in tries[0].content.decode()

    # The 5 codes an hour count alike.
    for _ in range(4):
        clock.shift(timedelta(seconds=61))
        both(lambda c, p: c.post(RESET, {"phone": p}))
    clock.shift(timedelta(seconds=61))
    _, capped = both(lambda c, p: c.post(RESET, {"phone": p}))
    assert_same(*capped)
    assert "Too many codes were sent to this number" in capped[0].content.decode()
