"""The outbox with a real Celery worker, Redis and PostgreSQL: a confirmation email arrives, a
broker outage delays mail but loses none, a worker killed mid-send (before the mail server
accepted the email) has it sent once by the next worker once its lease has run out, and
reconciliation runs as a task.

Every wait is a poll with a time limit. Redis is stopped in one test only, for a few seconds,
and always started again.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, User
from accounts.outbox import EMAIL_SEND_LEASE, notice_create, outbox_due
from accounts.tasks import outbox_sweep_task
from billing import services as billing
from billing.models import Order
from billing.tasks import payments_reconcile_task
from plans.models import Line, Plan
from plans.services import bucket_grant
from tests.billing.test_sweeps import pay_at_stripe_only
from tests.card_payments import pay_by_card
from tests.celery_worker import VISIBILITY_TIMEOUT, Worker, wait_until
from tests.factories import LineFactory
from tests.mail_backends import emails_mentioning, sent_emails
from tests.reliability.conftest import broker_idle, handed_out_since

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

StartWorker = Callable[..., AbstractContextManager[Worker]]

REDIS_PORT = 6379


def pay_renewal(client: Client, line: Line, payment_method: str, localstripe: str) -> Order:
    """Renew ``line``'s plan and pay by card, through the pages."""
    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    assert response.status_code == 302, response.content[:500]
    order = Order.objects.get(line=line, status__in=Order.OPEN)
    assert pay_by_card(client, order, payment_method, localstripe=localstripe).status == "fulfilled"
    return order


def test_confirmation_email_arrives_through_the_worker_after_a_card_payment(
    client: Client,
    customer: User,
    line: Line,
    localstripe: str,
    card: Callable[[str], str],
    worker: StartWorker,
    mail_dir: Path,
) -> None:
    client.force_login(customer)
    with worker() as running:
        order = pay_renewal(client, line, card("ok"), localstripe)
        delivery = EmailDelivery.objects.get(notice__key=f"order-fulfilled:{order.pk}")
        wait_until(
            lambda: emails_mentioning(mail_dir, order.public_id),
            timeout=20,
            what=f"the confirmation email for {order.public_id}",
            details=running.log_tail,
        )
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    assert emails_mentioning(mail_dir, order.public_id) == 1
    [email] = sent_emails(mail_dir)
    assert f"To: {customer.email}" in email
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (EmailDelivery.Status.SENT, 1)


@contextmanager
def redis_stopped() -> Iterator[None]:
    """Redis down for the block, and up again afterwards whatever happens (empty: it keeps no data)."""
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], check=False, capture_output=True)
    client = redis.Redis(port=REDIS_PORT, socket_connect_timeout=0.5)

    def down() -> bool:
        try:
            client.ping()
        except redis.ConnectionError:
            return True
        return False

    try:
        wait_until(down, timeout=10, what="Redis to stop")
        yield
    finally:
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                str(REDIS_PORT),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            check=True,
            capture_output=True,
            cwd="/tmp",
        )
        wait_until(lambda: not down(), timeout=10, what="Redis to start again")


def test_payments_during_a_broker_outage_are_fulfilled_and_each_email_is_sent_once_after_it(
    client: Client,
    customer: User,
    plans: dict[str, Plan],
    localstripe: str,
    card: Callable[[str], str],
    worker: StartWorker,
    mail_dir: Path,
) -> None:
    client.force_login(customer)
    lines = []
    for _ in range(20):
        line = LineFactory.create(owner=customer)
        bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
        lines.append(line)
    # Orders, intents and cards are made before the outage, to keep it short.
    for line in lines:
        assert client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"}).status_code == 302
    orders = list(Order.objects.filter(line__in=lines).order_by("pk"))
    cards = [card("ok") for _ in orders]

    with worker() as running:
        outage_started = time.monotonic()
        with redis_stopped():
            for order, payment_method in zip(orders, cards, strict=True):
                # Paid and renewed, though the email's task could not be queued.
                assert pay_by_card(client, order, payment_method, localstripe=localstripe).status == "fulfilled"
        assert time.monotonic() - outage_started < 15

        deliveries = EmailDelivery.objects.filter(notice__kind=Notice.Kind.PAYMENT_CONFIRMED)
        assert deliveries.filter(status=EmailDelivery.Status.PENDING).count() == 20
        # The sweep takes what has waited two minutes: as if they had.
        deliveries.update(created_at=F("created_at") - timedelta(minutes=3))
        assert outbox_sweep_task() == 20

        wait_until(
            lambda: deliveries.filter(status=EmailDelivery.Status.SENT).count() == 20,
            timeout=30,
            what="the 20 emails to be sent",
            details=running.log_tail,
        )
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    assert {order.public_id: emails_mentioning(mail_dir, order.public_id) for order in orders} == {
        order.public_id: 1 for order in orders
    }
    assert len(sent_emails(mail_dir)) == 20
    assert Order.objects.filter(pk__in=[o.pk for o in orders], status=Order.Status.FULFILLED).count() == 20


def test_email_of_a_worker_killed_mid_send_is_sent_once_by_the_next_worker(
    customer: User, worker: StartWorker, mail_dir: Path
) -> None:
    with worker(email_delay=3) as first:
        notice = notice_create(
            user=customer, kind=Notice.Kind.SUPPORT_RECEIVED, key="support-received:kill", params={"ref": "S000042"}
        )
        assert notice is not None
        sending = mail_dir / "sending"
        wait_until(
            lambda: sending.is_dir() and any(sending.iterdir()),
            timeout=20,
            what="the worker to start sending",
            details=first.log_tail,
        )
        first.kill()
    delivery = EmailDelivery.objects.get(notice=notice)
    # Killed before the mail server accepted it: nothing sent. The dead worker had claimed the
    # email (one attempt, a lease), so the sweep leaves it alone while the lease lasts; its task
    # is still handed out, never acknowledged.
    assert (delivery.status, delivery.attempts) == (EmailDelivery.Status.PENDING, 1)
    assert delivery.claimed_until is not None
    assert delivery.claimed_until > timezone.now() + EMAIL_SEND_LEASE - timedelta(seconds=30)
    assert sent_emails(mail_dir) == []
    assert len(handed_out_since()) == 1
    EmailDelivery.objects.filter(pk=delivery.pk).update(created_at=F("created_at") - timedelta(minutes=3))
    assert outbox_due() == []
    # The lease runs out: as if it had.
    EmailDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now())
    assert outbox_due() == [delivery.pk]

    # The next worker starts once the task has been out longer than the visibility timeout, as
    # after a crash; starting, it puts such tasks back in their queue.
    wait_until(
        lambda: time.time() - max(handed_out_since()) > VISIBILITY_TIMEOUT,
        timeout=VISIBILITY_TIMEOUT + 5,
        what="the task to be out longer than the visibility timeout",
    )
    with worker() as second:
        wait_until(
            lambda: emails_mentioning(mail_dir, "S000042"),
            timeout=30,
            what="the task to be delivered again and the email sent",
            details=second.log_tail,
        )
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    assert emails_mentioning(mail_dir, "S000042") == 1
    [email] = sent_emails(mail_dir)
    assert f"Message-ID: <email-{delivery.pk}." in email
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.claimed_until) == (EmailDelivery.Status.SENT, 2, None)


def test_reconciliation_task_fulfils_an_order_paid_at_stripe_whose_webhook_never_came(
    customer: User,
    line: Line,
    plans: dict[str, Plan],
    localstripe: str,
    card: Callable[[str], str],
    worker: StartWorker,
    mail_dir: Path,
) -> None:
    order = billing.order_start(user=customer, line=line, plan=plans["basic-10"], currency="CNY")
    pay_at_stripe_only(localstripe, str(order.payment_intent_id), card("ok"))
    Order.objects.filter(pk=order.pk).update(created_at=F("created_at") - timedelta(minutes=16))

    with worker() as running:
        payments_reconcile_task.delay()
        wait_until(
            lambda: Order.objects.filter(pk=order.pk, status=Order.Status.FULFILLED).exists(),
            timeout=20,
            what="the order to be fulfilled",
            details=running.log_tail,
        )
        wait_until(
            lambda: emails_mentioning(mail_dir, order.public_id),
            timeout=20,
            what="the confirmation email",
            details=running.log_tail,
        )
    line.refresh_from_db()
    assert line.expires_at is not None
    assert emails_mentioning(mail_dir, order.public_id) == 1
