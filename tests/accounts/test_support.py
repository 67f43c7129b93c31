"""The help page for everyone: logged out (an email to reply to, or a number proven by an SMS
code), logged in (the customer's own requests), Boom's contact channels, and each request
emailed to support once however often its form is posted."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts.emails import delivery_email
from accounts.models import EmailDelivery, Notice, SmsCode, SupportRequest
from accounts.support import support_request_create
from tests.factories import LineFactory, UserFactory, mobile_number
from tests.sms import code_in

pytestmark = pytest.mark.django_db


MESSAGE = "I am locked out of my account and cannot renew my line."


def page(client: Client, name: str = "accounts:support") -> str:
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def test_help_page_opens_without_logging_in_and_shows_the_contact_channels(client, settings):
    settings.SUPPORT_EMAIL = "desk@boom.example"
    settings.SUPPORT_PHONE = "+852 1234 5678"
    settings.SUPPORT_HOURS = "10:00–18:00 (UTC+8)"
    text = page(client)
    assert "desk@boom.example" in text
    assert "+852 1234 5678" in text
    assert "Every day, 10:00–18:00 (UTC+8)" in text
    assert '<textarea name="message"' in text
    assert 'name="reply_by"' in text


def test_no_choice_reads_as_dashes(client, customer, line):
    assert "---------" not in page(client)
    client.force_login(customer)
    text = page(client)
    assert "---------" not in text
    assert "Choose what it is about" in text
    assert "No particular line" in text


def test_help_is_in_the_top_menu(client, customer):
    client.force_login(customer)
    nav = page(client, "plans:home").split('<nav class="nav"')[1].split("</nav>")[0]
    assert f'href="{reverse("accounts:support")}"' in nav


def test_logged_out_request_with_an_email_is_stored_and_emailed_to_support_replying_to_it(client, settings):
    settings.SUPPORT_EMAIL = "desk@boom.example"
    response = client.post(
        reverse("accounts:support"),
        {"topic": "other", "message": MESSAGE, "reply_by": "email", "email": "Me@Example.com"},
    )
    assert response.status_code == 302
    request = SupportRequest.objects.get()
    assert (request.user, request.contact_email, request.status) == (None, "Me@example.com", "new")
    delivery = EmailDelivery.objects.get(support_request=request)
    assert delivery.to == "desk@boom.example"
    email = delivery_email(delivery)
    assert email.reply_to == ["Me@example.com"]
    assert "Not logged in" in email.body
    assert MESSAGE in email.body
    assert not Notice.objects.exists()
    assert request.reference in client.get(response["Location"]).content.decode()


def test_logged_out_request_without_the_chosen_contact_is_a_form_error(client):
    for reply_by, field in (("email", "email"), ("phone", "phone")):
        response = client.post(
            reverse("accounts:support"), {"topic": "other", "message": MESSAGE, "reply_by": reply_by}
        )
        assert response.status_code == 200
        assert field in response.context["form"].errors
    assert not SupportRequest.objects.exists()


def test_logged_out_request_by_phone_is_sent_once_the_code_is_right(client, sms_outbox):
    phone = mobile_number()
    response = client.post(
        reverse("accounts:support"),
        {"topic": "esim", "message": MESSAGE, "reply_by": "phone", "phone": phone.as_e164},
    )
    assert response["Location"] == reverse("accounts:support_confirm")
    assert not SupportRequest.objects.exists()
    assert SmsCode.objects.get().purpose == SmsCode.Purpose.SUPPORT
    code = code_in(sms_outbox[-1])

    wrong = client.post(reverse("accounts:support_confirm"), {"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "code" in wrong.context["form"].errors
    assert not SupportRequest.objects.exists()

    right = client.post(reverse("accounts:support_confirm"), {"code": code})
    assert right["Location"] == reverse("accounts:support")
    request = SupportRequest.objects.get()
    assert (request.user, request.contact_phone, request.topic) == (None, phone, "esim")
    email = delivery_email(EmailDelivery.objects.get(support_request=request))
    assert str(phone) in email.body
    assert "proven by SMS code" in email.body
    # The step is done: the confirm page sends back to the form.
    assert client.get(reverse("accounts:support_confirm"))["Location"] == reverse("accounts:support")


def test_phone_path_keeps_the_sms_code_limits(client, sms_outbox, settings):
    phone = mobile_number()
    data = {"topic": "other", "message": MESSAGE, "reply_by": "phone", "phone": phone.as_e164}
    assert client.post(reverse("accounts:support"), data).status_code == 302
    again = client.post(reverse("accounts:support"), data)
    assert again.status_code == 200
    assert "A code was just sent" in str(again.context["form"].errors["phone"])
    assert len(sms_outbox) == 1

    # The limit per network address, whatever the number, is a rate limit: the rate-limited
    # page, 429, as on every other page that sends codes.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "sms": "1/h"}
    other = {**data, "phone": mobile_number().as_e164}
    refused = client.post(reverse("accounts:support"), other)
    assert refused.status_code == 429
    assert "from your network" in refused.content.decode()
    assert int(refused["Retry-After"]) >= 1
    assert len(sms_outbox) == 1


def test_confirm_page_without_a_request_waiting_goes_back_to_the_form(client):
    assert client.get(reverse("accounts:support_confirm"))["Location"] == reverse("accounts:support")


def test_logged_in_customer_sees_their_own_requests_and_their_state(client, customer):
    mine = support_request_create(user=customer, topic="paying", message=MESSAGE)
    answered = support_request_create(user=customer, topic="esim", message=MESSAGE)
    SupportRequest.objects.filter(pk=answered.pk).update(status=SupportRequest.Status.WAITING)
    theirs = support_request_create(user=UserFactory.create(), topic="data", message=MESSAGE)
    client.force_login(customer)
    text = page(client)
    assert mine.reference in text
    assert "Waiting for an answer" in text
    assert answered.reference in text
    assert "Answered" in text
    assert theirs.reference not in text


def test_the_same_form_posted_twice_makes_one_request_and_one_email(client, customer, line):
    token = str(uuid.uuid4())
    client.force_login(customer)
    data = {"topic": "paying", "line": line.pk, "message": MESSAGE, "token": token}
    first = client.post(reverse("accounts:support"), data)
    second = client.post(reverse("accounts:support"), data)
    assert first.status_code == second.status_code == 302
    request = SupportRequest.objects.get()
    assert str(request.token) == token
    assert EmailDelivery.objects.filter(support_request__isnull=False).count() == 1
    assert Notice.objects.filter(kind=Notice.Kind.SUPPORT_RECEIVED).count() == 1


def test_the_form_carries_a_fresh_token(client):
    response = client.get(reverse("accounts:support"))
    assert isinstance(response.context["form"].initial["token"], uuid.UUID)
    assert 'name="token"' in response.content.decode()


def test_a_token_of_someone_elses_request_is_refused_not_reused(client, customer):
    theirs = support_request_create(user=UserFactory.create(), topic="data", message=MESSAGE, token=uuid.uuid4())
    client.force_login(customer)
    response = client.post(reverse("accounts:support"), {"topic": "other", "message": MESSAGE, "token": theirs.token})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert SupportRequest.objects.count() == 1


def test_a_bad_token_is_a_form_error(client):
    response = client.post(
        reverse("accounts:support"),
        {"topic": "other", "message": MESSAGE, "reply_by": "email", "email": "a@example.com", "token": "nope"},
    )
    assert response.status_code == 200
    assert "token" in response.context["form"].errors


def test_the_logged_in_form_lists_the_customers_lines_as_they_are_now_in_their_language(customer, line):
    """The empty form and the answers are drawn once per process (boomcard.page_fragments): by
    the lines to choose from and the language, so a renamed line, a line added or another
    language shows at once, and each view still carries a token of its own."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    first = page(client)
    assert f'<option value="{line.pk}">' in first
    line.nickname = "Mum's travel phone"
    line.save()
    second = page(client)
    assert "Mum&#x27;s travel phone" in second
    added = LineFactory.create(owner=customer, nickname="Work phone")
    third = page(client)
    assert f'<option value="{added.pk}">Work phone</option>' in third
    tokens = [re.search(r'name="token" value="([^"]+)"', text) for text in (first, second, third)]
    assert all(tokens)
    assert len({token.group(1) for token in tokens if token}) == 3
    client.post(reverse("accounts:language"), {"language": "zh-hans", "next": "/support/"})
    chinese = page(client)
    assert "Mum&#x27;s travel phone" in chinese
    assert "No particular line" not in chinese
    assert "How do I renew?" not in chinese
