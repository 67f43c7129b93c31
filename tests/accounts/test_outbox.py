"""The email outbox (accounts/outbox.py): each email a row written with its notice, sent once
by email_send however often it is called, with no transaction open while sending, retried with
backoff, swept up when its task is lost, and sent again (with the same Message-ID) only when its
sender died after the server accepted it; and what the confirmation email says."""

from __future__ import annotations

import re
import threading
import zoneinfo
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
import time_machine
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends import locmem
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from kombu.exceptions import OperationalError

from accounts.emails import delivery_email
from accounts.models import EmailDelivery, Notice, SupportRequest, User
from accounts.outbox import (
    EMAIL_MAX_ATTEMPTS,
    EMAIL_SEND_LEASE,
    email_backoff,
    email_send,
    notice_create,
    outbox_due,
)
from accounts.support import support_request_create
from accounts.tasks import SEND_SOFT_TIME_LIMIT, SEND_TIME_LIMIT, email_deliver_task
from billing import services as billing
from billing.models import Order
from plans.models import Line, Plan
from tests.card_payments import pay_by_card
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The billing tests' fixtures: a customer with an email address, their line on basic-10, the
# catalogue, and test cards at localstripe.

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
    attempts = []

    def broker_down(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(email_deliver_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        notice = support_notice(customer)
    assert len(attempts) == 1
    delivery = EmailDelivery.objects.get(notice=notice)
    assert delivery.status == EmailDelivery.Status.PENDING
    with time_machine.travel(delivery.created_at + timedelta(minutes=3), tick=False):
        assert outbox_due() == [delivery.pk]


# --- Sending without holding the row, and the one window for a second copy ------------------


def _row_locked_elsewhere() -> bool:
    """Whether another database connection finds an email row locked (without waiting)."""
    found: list[bool] = []

    def probe() -> None:
        try:
            with transaction.atomic():
                list(EmailDelivery.objects.select_for_update(nowait=True).values_list("pk", flat=True))
            found.append(False)
        except DatabaseError:  # could not obtain lock
            found.append(True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return found[0]


class WatchingBackend(locmem.EmailBackend):
    """Sends to ``mail.outbox``, noting what the sender holds at that moment and what a second
    call for the same email does then."""

    seen: ClassVar[list[dict[str, object]]] = []

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        [message] = messages
        delivery_id = int(re.findall(r"<email-(\d+)\.", message.extra_headers["Message-ID"])[0])
        seen: dict[str, object] = {"in_transaction": connection.in_atomic_block, "row_locked": _row_locked_elsewhere()}
        if not WatchingBackend.seen:
            WatchingBackend.seen.append(seen)
            seen["second_call"] = email_send(delivery_id=delivery_id)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_the_email_is_sent_with_no_transaction_open_and_its_row_unlocked(customer, mailoutbox, settings):
    settings.EMAIL_BACKEND = f"{__name__}.WatchingBackend"
    WatchingBackend.seen.clear()
    delivery = _delivery(customer, "watched", created_at=timezone.now())

    assert email_send(delivery_id=delivery.pk) == "sent"

    # A second call while the first is sending (a duplicate task) finds the email taken.
    assert WatchingBackend.seen == [{"in_transaction": False, "row_locked": False, "second_call": "sending"}]
    assert len(mailoutbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.claimed_until) == (EmailDelivery.Status.SENT, 1, None)


class SenderDied(BaseException):
    """As a worker killed at that moment: nothing after it runs, not even ``except Exception``."""


class AcceptedThenDiesBackend(locmem.EmailBackend):
    """The server accepts the email (it is in ``mail.outbox``), then the sender dies."""

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        super().send_messages(messages)
        raise SenderDied


def test_an_email_whose_sender_died_after_the_server_accepted_it_is_sent_again_after_the_lease_with_the_same_message_id(
    customer, mailoutbox, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.AcceptedThenDiesBackend"
    delivery = EmailDelivery.objects.get(notice=support_notice(customer))
    tried_at = delivery.created_at + timedelta(minutes=3)
    with time_machine.travel(tried_at, tick=False), pytest.raises(SenderDied):
        email_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (EmailDelivery.Status.PENDING, 1)
    assert delivery.claimed_until == tried_at + EMAIL_SEND_LEASE
    assert len(mailoutbox) == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # While the lease lasts the sweep leaves it, and a task run now (the dead sender's, handed
    # out again) sends nothing.
    with time_machine.travel(tried_at + EMAIL_SEND_LEASE - timedelta(seconds=1), tick=False):
        assert outbox_due() == []
        assert email_send(delivery_id=delivery.pk) == "sending"
    assert len(mailoutbox) == 1

    with time_machine.travel(tried_at + EMAIL_SEND_LEASE, tick=False):
        assert outbox_due() == [delivery.pk]
        assert email_send(delivery_id=delivery.pk) == "sent"
    accepted, resent = mailoutbox
    assert resent.extra_headers["Message-ID"] == accepted.extra_headers["Message-ID"]
    assert resent.message()["Message-ID"] == accepted.message()["Message-ID"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.claimed_until) == (EmailDelivery.Status.SENT, 2, None)


def test_a_failed_try_lets_go_of_the_email_at_once(customer, settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    delivery = EmailDelivery.objects.get(notice=support_notice(customer))
    tried_at = delivery.created_at + timedelta(minutes=3)
    with time_machine.travel(tried_at, tick=False):
        assert email_send(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.claimed_until is None
    # Due after its backoff (one minute), not after the lease (two).
    assert outbox_due(now=tried_at + email_backoff(1)) == [delivery.pk]


def test_a_late_failure_does_not_overwrite_the_email_another_sender_took_over(customer, settings, monkeypatch):
    """A sender whose lease ran out while it was failing leaves the row to the one holding it."""
    delivery = EmailDelivery.objects.get(notice=support_notice(customer))
    tried_at = delivery.created_at + timedelta(minutes=3)
    taken_over_until = tried_at + 2 * EMAIL_SEND_LEASE

    def slow_failure(*args: Any, **kwargs: Any) -> None:
        EmailDelivery.objects.filter(pk=delivery.pk).update(claimed_until=taken_over_until, attempts=2)
        raise ConnectionResetError("Connection reset by peer")

    monkeypatch.setattr(EmailMultiAlternatives, "send", slow_failure)
    with time_machine.travel(tried_at, tick=False):
        assert email_send(delivery_id=delivery.pk) == "done"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.claimed_until) == (
        EmailDelivery.Status.PENDING,
        2,
        taken_over_until,
    )
    assert delivery.last_error == ""


def test_outbox_due_leaves_out_an_email_a_sender_holds_until_its_lease_runs_out(customer):
    now = timezone.now()
    old = now - timedelta(minutes=3)
    held = _delivery(customer, "held", created_at=old, next_attempt_at=old, claimed_until=now + timedelta(seconds=1))
    abandoned = _delivery(customer, "abandoned", created_at=old, next_attempt_at=old, claimed_until=now)

    assert outbox_due(now=now) == [abandoned.pk]
    assert sorted(outbox_due(now=now + timedelta(seconds=1))) == sorted([held.pk, abandoned.pk])


def test_the_message_id_is_one_per_row_in_the_senders_domain_and_the_same_on_every_try(customer, settings):
    settings.DEFAULT_FROM_EMAIL = "Boom <no-reply@mail.boom.example>"
    first = EmailDelivery.objects.get(notice=support_notice(customer, "S000001"))
    second = EmailDelivery.objects.get(notice=support_notice(customer, "S000002"))
    to_support = EmailDelivery.objects.get(
        support_request=support_request_create(user=customer, topic=SupportRequest.Topic.OTHER, message="Hello")
    )

    ids = [delivery_email(delivery).extra_headers["Message-ID"] for delivery in (first, first, second, to_support)]

    assert ids[0] == ids[1]
    assert len(set(ids)) == 3
    for delivery, message_id in zip((first, second, to_support), ids[1:], strict=True):
        assert re.fullmatch(rf"<email-{delivery.pk}\.\d{{20}}@mail\.boom\.example>", message_id), message_id


def test_the_email_task_run_twice_sends_once(customer, mailoutbox):
    delivery = EmailDelivery.objects.get(notice=support_notice(customer))
    assert email_deliver_task.apply(args=(delivery.pk,)).get() == "sent"
    assert email_deliver_task.apply(args=(delivery.pk,)).get() == "done"
    assert len(mailoutbox) == 1


def test_a_sender_is_stopped_well_before_its_lease_runs_out(settings):
    # Each SMTP step waits at most EMAIL_TIMEOUT; the task is interrupted (soft), then killed
    # (hard), before the lease ends, so that a sender holding an email is one still alive.
    assert settings.EMAIL_TIMEOUT == 20
    assert (email_deliver_task.soft_time_limit, email_deliver_task.time_limit) == (
        SEND_SOFT_TIME_LIMIT,
        SEND_TIME_LIMIT,
    )
    assert 2 * settings.EMAIL_TIMEOUT <= SEND_SOFT_TIME_LIMIT < SEND_TIME_LIMIT < EMAIL_SEND_LEASE.total_seconds()


# --- What the payment confirmation says ----------------------------------------------------


def paid_order(user: User, renewed: Line, plan: Plan, payment_method: str, localstripe: str) -> Order:
    order = billing.order_start(user=user, line=renewed, plan=plan, currency="CNY")
    browser = Client()
    browser.force_login(user)
    order = pay_by_card(browser, order, payment_method, localstripe=localstripe).order
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
    order = paid_order(customer, line, plans["basic-10"], card("ok"), localstripe)
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
    order = paid_order(customer, line, plans["basic-10"], card("ok"), localstripe)
    message = confirmation_email(order, mailoutbox)

    with translation.override("zh-hans"):
        title = gettext("Payment received")
    assert message.subject == f"Boom: {title}"
    html = html_of(message)
    assert 'lang="zh-hans"' in html
    assert "基础套餐 10GB" in message.body
    assert "基础套餐 10GB" in html
