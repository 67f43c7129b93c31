"""A new email is confirmed by a link sent to it before it receives anything or logs in; then the
old address hears of the change."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.email_change import email_change_confirm, email_change_request, email_change_token
from accounts.models import EmailDelivery, Notice
from accounts.outbox import email_send, notice_create
from tests.factories import CUSTOMER_EMAIL, PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = reverse("accounts:email_change")


OLD = CUSTOMER_EMAIL  # the customer's address before the change


def sent_link(to: str) -> str:
    delivery = EmailDelivery.objects.filter(to=to, email_verification_for__isnull=False).latest("pk")
    mail.outbox.clear()
    assert email_send(delivery_id=delivery.pk) == "sent"
    body = mail.outbox[0].body
    assert mail.outbox[0].to == [to]
    return next(word for word in body.split() if "/accounts/email/confirm/?token=" in word)


def test_new_email_waits_for_its_link_and_receipts_keep_to_the_old_one(client, customer):
    client.force_login(customer)
    response = client.post(EMAIL, {"email": "New@Example.com"})
    assert response["Location"] == reverse("accounts:preferences")
    customer.refresh_from_db()
    assert (customer.email, customer.email_pending) == (OLD, "New@example.com")
    # Anything sent meanwhile goes to the confirmed address.
    notice = notice_create(user=customer, kind=Notice.Kind.SUPPORT_RECEIVED, key="t", params={"ref": "S1"})
    assert notice is not None
    assert notice.email.to == OLD
    # The new address does not log in yet.
    client.logout()
    login = reverse("accounts:login")
    assert client.post(login, {"username": "new@example.com", "password": PASSWORD}).status_code == 200

    link = urlsplit(sent_link("New@example.com"))
    assert client.get(f"{link.path}?{link.query}")["Location"] == reverse("accounts:login")
    customer.refresh_from_db()
    assert (customer.email, customer.email_pending) == ("New@example.com", "")
    assert client.post(login, {"username": "new@example.com", "password": PASSWORD}).status_code == 302


def test_confirming_tells_the_old_address(customer):
    email_change_request(user=customer, email="new@example.com")
    email_change_confirm(token=email_change_token(user_id=customer.pk, email="new@example.com"))
    notice = Notice.objects.get(user=customer, kind=Notice.Kind.EMAIL_CHANGED)
    assert notice.email.to == OLD
    mail.outbox.clear()
    email_send(delivery_id=notice.email.pk)
    assert mail.outbox[0].to == [OLD]
    assert "now go to new@example.com" in mail.outbox[0].body


@pytest.mark.parametrize("token", ["", "nonsense", "a:b:c"])
def test_bad_links_are_refused_with_a_message_never_a_500(client, customer, token):
    email_change_request(user=customer, email="new@example.com")
    client.force_login(customer)
    page = client.get(reverse("accounts:email_confirm"), {"token": token}, follow=True)
    assert page.status_code == 200
    assert "This link is not valid any more." in page.content.decode()
    customer.refresh_from_db()
    assert customer.email == OLD


def test_link_expires_after_a_day(customer):
    email_change_request(user=customer, email="new@example.com")
    token = email_change_token(user_id=customer.pk, email="new@example.com")
    with time_machine.travel(timezone.now() + timedelta(hours=25)), pytest.raises(Exception, match="not valid"):
        email_change_confirm(token=token)


def test_an_older_link_no_longer_works_after_asking_for_another_address(customer):
    email_change_request(user=customer, email="first@example.com")
    first = email_change_token(user_id=customer.pk, email="first@example.com")
    email_change_request(user=customer, email="second@example.com")
    with pytest.raises(Exception, match="not valid"):
        email_change_confirm(token=first)


def test_an_address_of_another_account_is_refused(client, customer):
    UserFactory.create(email="taken@example.com")
    client.force_login(customer)
    response = client.post(EMAIL, {"email": "TAKEN@example.com"})
    assert "This email is already used by another account." in response.content.decode()
