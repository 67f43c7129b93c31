"""The email outbox (accounts/services.py): each email a row written with its notice, sent once
by email_send however often it is called, retried with backoff, and swept up when its task is
lost; and what the confirmation email says."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from kombu.exceptions import OperationalError

from accounts.models import EmailDelivery, Line, Notice, User
from accounts.outbox import EMAIL_MAX_ATTEMPTS, email_backoff, email_send, notice_create, outbox_due
from billing import services as billing
from billing.models import Order
from plans.models import Plan
from tests.billing import conftest as billing_fixtures
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The billing tests' fixtures: a customer with an email address, their line on basic-10, the
# catalogue, and test cards at localstripe.
customer = billing_fixtures.customer
line = billing_fixtures.line
plans = billing_fixtures.plans
card = billing_fixtures.card

FAILING_BACKEND = "tests.mail_backends.FailingBackend"


def support_notice(user: User, ref: str = "S000001") -> Notice:
    notice = notice_create(
        user=user,
        kind=Notice.Kind.SUPPORT_RECEIVED,
        key=f"support-received:{ref}",
        params={"ref": ref},
        link="/support/",
    )
    assert notice is not None
    return notice


def test_notice_for_a_customer_with_an_address_writes_its_email_row(customer):
    notice = support_notice(customer)
    delivery = EmailDelivery.objects.get(notice=notice)
    assert (delivery.to, delivery.status, delivery.attempts) == (customer.email, EmailDelivery.Status.PENDING, 0)


def test_notice_for_a_customer_without_an_address_writes_no_email_row():
    notice = support_notice(UserFactory.create(email=""))
    assert not EmailDelivery.objects.filter(notice=notice).exists()


def test_email_send_sends_once_when_called_twice(customer, mailoutbox):
    delivery = EmailDelivery.objects.get(notice=support_notice(customer))
    assert email_send(delivery_id=delivery.pk) == "sent"
    assert email_send(delivery_id=delivery.pk) == "done"
    assert len(mailoutbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (EmailDelivery.Status.SENT, 1)
    assert delivery.sent_at is not None


def test_failing_backend_counts_attempts_backs_off_and_gives_up_after_the_last_attempt(customer, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    delivery = EmailDelivery.objects.get(notice=support_notice(customer))
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        for attempt in range(1, EMAIL_MAX_ATTEMPTS + 1):
            outcome = email_send(delivery_id=delivery.pk)
            delivery.refresh_from_db()
            assert delivery.attempts == attempt
            assert delivery.next_attempt_at == now + email_backoff(attempt)
            assert "SMTPServerDisconnected" in delivery.last_error
            if attempt < EMAIL_MAX_ATTEMPTS:
                assert (outcome, delivery.status) == ("retry", EmailDelivery.Status.PENDING)
        assert (outcome, delivery.status) == ("failed", EmailDelivery.Status.FAILED)
        # Given up: nothing more is tried.
        assert email_send(delivery_id=delivery.pk) == "done"
    delivery.refresh_from_db()
    assert delivery.attempts == EMAIL_MAX_ATTEMPTS


def test_backoff_doubles_from_one_minute_up_to_six_hours():
    assert [email_backoff(n) for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert email_backoff(20) == timedelta(hours=6)


def test_a_failed_try_is_due_again_only_after_its_backoff(customer, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    delivery = EmailDelivery.objects.get(notice=support_notice(customer))
    written = delivery.created_at
    with time_machine.travel(written + timedelta(minutes=3), tick=False):
        assert outbox_due() == [delivery.pk]
        email_send(delivery_id=delivery.pk)
        email_send(delivery_id=delivery.pk)  # second try: two minutes' wait
        assert outbox_due() == []
    with time_machine.travel(written + timedelta(minutes=5, seconds=1), tick=False):
        assert outbox_due() == [delivery.pk]


def _delivery(user: User, key: str, *, created_at: datetime, **fields: Any) -> EmailDelivery:
    notice = notice_create(user=user, kind=Notice.Kind.SUPPORT_RECEIVED, key=key, email=False)
    return EmailDelivery.objects.create(notice=notice, to=user.email, created_at=created_at, **fields)


def test_outbox_due_returns_only_pending_emails_written_over_two_minutes_ago_and_due(customer):
    now = timezone.now()
    old = now - timedelta(minutes=3)
    due = _delivery(customer, "due", created_at=old, next_attempt_at=old)
    retry_due = _delivery(customer, "retry-due", created_at=now - timedelta(hours=1), next_attempt_at=now)
    _delivery(customer, "fresh", created_at=now - timedelta(minutes=1), next_attempt_at=now - timedelta(minutes=1))
    _delivery(customer, "backing-off", created_at=old, next_attempt_at=now + timedelta(minutes=4))
    for status in (EmailDelivery.Status.SENT, EmailDelivery.Status.FAILED, EmailDelivery.Status.CANCELLED):
        _delivery(customer, status, created_at=old, next_attempt_at=old, status=status)

    assert outbox_due(now=now) == [due.pk, retry_due.pk]
    assert outbox_due(now=now, limit=1) == [due.pk]


def test_a_broker_that_cannot_take_the_task_leaves_the_email_to_the_sweep(
    customer, django_capture_on_commit_callbacks, monkeypatch
):
    from accounts.tasks import email_deliver

    attempts = []

    def broker_down(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(email_deliver, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        notice = support_notice(customer)
    assert len(attempts) == 1
    delivery = EmailDelivery.objects.get(notice=notice)
    assert delivery.status == EmailDelivery.Status.PENDING
    with time_machine.travel(delivery.created_at + timedelta(minutes=3), tick=False):
        assert outbox_due() == [delivery.pk]


# --- What the payment confirmation says ----------------------------------------------------


def paid_order(user: User, renewed: Line, plan: Plan, payment_method: str) -> Order:
    order = billing.order_start(user=user, line=renewed, plan=plan, currency="CNY")
    order = billing.order_pay_with_card(order=order, payment_method_id=payment_method)
    assert order.status == Order.Status.FULFILLED
    return order


def confirmation_email(order: Order, mailoutbox: list[EmailMultiAlternatives]) -> EmailMultiAlternatives:
    delivery = EmailDelivery.objects.get(notice__key=f"order-fulfilled:{order.pk}")
    assert email_send(delivery_id=delivery.pk) == "sent"
    [message] = mailoutbox
    return message


def html_of(message: EmailMultiAlternatives) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(content)


def test_confirmation_email_has_text_and_html_with_order_plan_amount_new_expiry_and_absolute_link(
    customer, line, plans, localstripe, card: Callable[[str], str], mailoutbox, settings
):
    settings.SITE_URL = "https://my.boom.example"
    order = paid_order(customer, line, plans["basic-10"], card("ok"))
    message = confirmation_email(order, mailoutbox)

    line.refresh_from_db()
    assert line.expires_at is not None
    new_expiry = timezone.localtime(line.expires_at, zoneinfo.ZoneInfo(customer.time_zone)).strftime("%Y-%m-%d %H:%M")
    link = f"https://my.boom.example{reverse('billing:order', args=[order.public_id])}"
    assert message.to == [customer.email]
    assert message.subject == "Boom: Payment received"
    html = html_of(message)
    assert 'lang="en"' in html
    for part in (message.body, html):
        assert order.public_id in part
        assert "Basic 10 GB" in part
        assert "¥38.00" in part
        assert new_expiry in part
        assert link in part


def test_confirmation_email_for_a_chinese_speaking_customer_is_in_chinese(
    customer, line, plans, localstripe, card: Callable[[str], str], mailoutbox
):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    order = paid_order(customer, line, plans["basic-10"], card("ok"))
    message = confirmation_email(order, mailoutbox)

    with translation.override("zh-hans"):
        title = gettext("Payment received")
    assert message.subject == f"Boom: {title}"
    html = html_of(message)
    assert 'lang="zh-hans"' in html
    assert "基础套餐 10GB" in message.body
    assert "基础套餐 10GB" in html
