"""Security notices: a notice and an email after a password reset or change, two-step log-in on
or off, and an email change (that one to the old address)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from accounts import password_reset, services
from accounts.models import Notice, SmsCode, User
from accounts.notice_text import notice_text
from tests.factories import CUSTOMER_EMAIL
from tests.security.helpers import app_code, authenticator_for

pytestmark = pytest.mark.django_db

NEW = "green-Lake-2031!"


def only_notice(customer: User, kind: str) -> Notice:
    notice = Notice.objects.get(user=customer, kind=kind)
    assert notice.email.to == CUSTOMER_EMAIL
    return notice


def test_password_change_page_tells_the_customer(client, customer):
    client.force_login(customer)
    client.post(reverse("accounts:password_change"), {"new_password1": NEW, "new_password2": NEW})
    only_notice(customer, Notice.Kind.PASSWORD_CHANGED)


def test_password_reset_tells_the_customer(customer, sms_outbox):
    password_reset.password_reset_request(phone=customer.phone)
    code = sms_outbox[-1].body.split("code is ")[1][:6]
    password_reset.password_reset_confirm(phone=customer.phone, code=code, password=NEW)
    only_notice(customer, Notice.Kind.PASSWORD_RESET)
    assert SmsCode.objects.get(phone=customer.phone).used_at is not None


def test_two_step_on_and_off_tell_the_customer(customer):
    services.two_factor_setup_start(user=customer)
    device = customer.totpdevice_set.get()
    services.two_factor_setup_confirm(user=customer, code=app_code(device))
    only_notice(customer, Notice.Kind.TWO_FACTOR_ON)
    codes = list(customer.staticdevice_set.get().token_set.values_list("token", flat=True))
    services.two_factor_disable(user=customer, code=codes[0])
    only_notice(customer, Notice.Kind.TWO_FACTOR_OFF)


def test_a_wrong_code_turns_nothing_off_and_tells_nothing(customer):
    authenticator_for(customer)
    with pytest.raises(ValidationError, match="not right"):
        services.two_factor_disable(user=customer, code="000000x")
    assert not Notice.objects.filter(user=customer).exists()


@pytest.mark.parametrize(
    "kind", ["password_reset", "password_changed", "two_factor_on", "two_factor_off", "email_changed"]
)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_each_security_notice_is_worded_in_both_languages(customer, kind, language):
    notice = Notice(user=customer, kind=kind, params={"email": "new@example.com"})
    with translation.override(language):
        text = notice_text(notice)
    assert text.title
    assert text.body
    assert text.action
    assert (language == "en") == text.title.isascii()
