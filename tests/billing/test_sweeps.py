"""The work Celery beat runs on a clock (billing/sweeps.py), called as the tasks call it, with the
clock moved by time_machine: renewal reminders, reconciliation of payments, auto-renew."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, User
from accounts.outbox import email_send
from billing import services, sweeps
from billing.models import Order, PaymentProfile
from plans.models import Bucket, Line, Plan
from plans.services import bucket_grant
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
STRIPE_AUTH = ("sk_test_boom_local", "")


def reminders(line: Line) -> list[tuple[int, str]]:
    """The reminder notices of ``line``: (days before expiry, the expiry they are about)."""
    notices = Notice.objects.filter(line_ref=line.pk, kind=Notice.Kind.RENEWAL_REMINDER).order_by("created_at", "pk")
    return [(notice.params["days"], notice.params["expires_at"]) for notice in notices]


def sweep_at(when: datetime, runs: int = 1) -> list[int]:
    """Run the reminder sweep ``runs`` times with the clock at ``when``; what each run sent."""
    with time_machine.travel(when, tick=False):
        return [sweeps.renewal_reminders_send() for _ in range(runs)]


def save_card(user: User) -> PaymentProfile:
    return PaymentProfile.objects.create(
        user=user, stripe_customer_id=f"cus_{user.pk}", card_payment_method_id=f"pm_{user.pk}", card_last4="4242"
    )


# --- Renewal reminders ---------------------------------------------------------------------


def test_reminders_go_out_7_3_and_1_days_before_and_at_expiry_once_each_when_the_sweep_runs_twice(line):
    expiry = line.expires_at
    stages = [(7, expiry - 7 * DAY + HOUR), (3, expiry - 3 * DAY + HOUR), (1, expiry - DAY + HOUR), (0, expiry + HOUR)]
    for days, when in stages:
        assert sweep_at(when, runs=2) == [1, 0], f"{days} days"
        # Between two stages the hourly sweep has nothing to send.
        assert sweep_at(when + 5 * HOUR) == [0]
    assert reminders(line) == [(days, expiry.isoformat()) for days in (7, 3, 1, 0)]
    assert EmailDelivery.objects.filter(notice__line_ref=line.pk, to=line.owner.email).count() == 4
    # One tap to the pay page of an order for the same plan (billing:renew_now).
    assert Notice.objects.get(line_ref=line.pk, params__days=3).link == reverse("billing:renew_now", args=[line.pk])


def test_a_line_that_will_auto_renew_with_a_saved_card_gets_no_reminder_before_expiry_only_at_it(line, customer):
    save_card(customer)
    Line.objects.filter(pk=line.pk).update(auto_renew=True)
    # Auto-renew on but no card saved: it cannot renew, so its customer is reminded.
    cardless = LineFactory.create(owner=UserFactory.create(), auto_renew=True, expires_at=line.expires_at)
    expiry = line.expires_at
    for when in (expiry - 7 * DAY + HOUR, expiry - 3 * DAY + HOUR, expiry - DAY + HOUR):
        sweep_at(when)
    assert reminders(line) == []
    assert [days for days, _expiry in reminders(cardless)] == [7, 3, 1]

    # Expired after all (the charge failed): now the customer hears about it.
    sweep_at(expiry + HOUR)
    assert reminders(line) == [(0, expiry.isoformat())]


def test_renewal_cancels_the_unsent_reminder_email_and_the_next_reminders_follow_the_new_expiry(
    line, plans, mailoutbox
):
    old_expiry = line.expires_at
    sweep_at(old_expiry - 7 * DAY + HOUR)
    unsent = EmailDelivery.objects.get(notice__line_ref=line.pk)

    with time_machine.travel(old_expiry - 6 * DAY, tick=False):
        bucket_grant(line=line, plan=plans["basic-10"])
        assert email_send(delivery_id=unsent.pk) == "cancelled"
    unsent.refresh_from_db()
    assert unsent.status == EmailDelivery.Status.CANCELLED
    assert mailoutbox == []

    line.refresh_from_db()
    new_expiry = line.expires_at
    assert new_expiry == old_expiry + 30 * DAY
    # The old expiry's later stages pass without a word.
    assert sweep_at(old_expiry - 3 * DAY + HOUR) == [0]
    assert sweep_at(old_expiry + HOUR) == [0]

    sweep_at(new_expiry - 7 * DAY + HOUR)
    assert reminders(line) == [(7, old_expiry.isoformat()), (7, new_expiry.isoformat())]
    fresh = EmailDelivery.objects.get(notice__line_ref=line.pk, notice__params__expires_at=new_expiry.isoformat())
    assert email_send(delivery_id=fresh.pk) == "sent"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject == "Boom: Your plan runs out in 7 days"


def test_a_line_first_seen_5_days_before_expiry_is_told_5_days_in_both_languages_and_later_stages_follow(line):
    from django.utils import translation

    from accounts.notice_text import notice_text

    expiry = line.expires_at
    assert sweep_at(expiry - 5 * DAY + HOUR) == [1]  # 4 days 23 hours left: the 7-day stage, once
    assert sweep_at(expiry - 4 * DAY) == [0]
    assert sweep_at(expiry - 3 * DAY + HOUR) == [1]
    assert sweep_at(expiry - 20 * HOUR) == [1]
    notices = list(Notice.objects.filter(line_ref=line.pk, kind=Notice.Kind.RENEWAL_REMINDER).order_by("created_at"))
    assert [n.params["days"] for n in notices] == [7, 3, 1]
    with translation.override("en"):
        assert [notice_text(n).title for n in notices] == [
            "Your plan runs out in 5 days",
            "Your plan runs out in 3 days",
            "Your plan runs out in 20 hours",
        ]
    with translation.override("zh-hans"):
        assert notice_text(notices[0]).title == "您的套餐将在 5 天后到期"
        assert notice_text(notices[2]).title == "您的套餐将在 20 小时后到期"


def test_an_earlier_stage_is_never_sent_after_a_later_one(line):
    from billing.models import RenewalReminder

    expiry = line.expires_at
    RenewalReminder.objects.create(line=line, expires_at=expiry, days=3)
    assert sweep_at(expiry - 5 * DAY) == [0]
    assert sweep_at(expiry - DAY + HOUR) == [1]
    assert reminders(line) == [(1, expiry.isoformat())]


def test_reminder_emails_are_queued_when_the_sweep_commits(line, django_capture_on_commit_callbacks, monkeypatch):
    from accounts.tasks import email_deliver_task

    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(email_deliver_task, "apply_async", lambda args, **options: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        sweep_at(line.expires_at - 7 * DAY + HOUR)
    delivery = EmailDelivery.objects.get(notice__line_ref=line.pk)
    assert queued == [(delivery.pk,)]


# The reminder sweep with one stage due: a read per stage (4); for the due batch, the reminders,
# the notices, which of them need an email, the emails, each in bulk, and 4 savepoint statements.
REMINDER_SWEEP_QUERIES = 12


@pytest.mark.parametrize("due", [5, 50])
def test_reminder_sweep_reads_only_due_lines_in_a_fixed_number_of_queries(
    due, plans, django_assert_num_queries, monkeypatch
):
    now = timezone.now()
    expiry = now + 5 * DAY
    due_lines = [LineFactory.create(owned=True, expires_at=expiry) for _ in range(due)]
    # Not due: far from expiry, long expired, never expiring, or nobody's.
    LineFactory.create_batch(20, owned=True, expires_at=now + 20 * DAY)
    LineFactory.create_batch(20, owned=True, expires_at=now - 10 * DAY)
    LineFactory.create_batch(5, owned=True, expires_at=None)
    LineFactory.create_batch(5, expires_at=expiry)

    read: list[int] = []
    remind = sweeps._remind

    def spy(lines: list[Line], days: int, now: datetime) -> int:
        read.extend(line.pk for line in lines)
        return remind(lines, days, now)

    monkeypatch.setattr(sweeps, "_remind", spy)
    with django_assert_num_queries(REMINDER_SWEEP_QUERIES):
        assert sweeps.renewal_reminders_send(now=now) == due
    assert sorted(read) == sorted(line.pk for line in due_lines)
    assert EmailDelivery.objects.count() == due


# --- Reconciling payments ------------------------------------------------------------------


def pay_at_stripe_only(localstripe: str, intent_id: str, payment_method: str) -> None:
    """Pay an order's intent straight at (local)Stripe with a card, as the customer's browser
    would, with no webhook and no call through our services: our database still says pending."""
    requests.post(
        f"{localstripe}/v1/payment_intents/{intent_id}",
        data={"payment_method": payment_method},
        auth=STRIPE_AUTH,
        timeout=10,
    ).raise_for_status()
    answer = requests.post(f"{localstripe}/v1/payment_intents/{intent_id}/confirm", auth=STRIPE_AUTH, timeout=10)
    answer.raise_for_status()
    assert answer.json()["status"] == "succeeded"


def renew_on_the_page(client: Client, customer: User, line: Line) -> Order:
    client.force_login(customer)
    assert client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"}).status_code == 302
    return Order.objects.get(line=line, status=Order.Status.PENDING)


def test_reconciliation_fulfils_an_order_paid_at_stripe_whose_webhook_never_came(
    client, customer, line, localstripe, card
):
    old_expiry = line.expires_at
    order = renew_on_the_page(client, customer, line)
    pay_at_stripe_only(localstripe, str(order.payment_intent_id), card("ok"))
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING

    # Fourteen minutes on: the webhook may still come, the sweep leaves it.
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert sweeps.payments_reconcile() == {"checked": 0, "fulfilled": 0, "cancelled": 0}
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert sweeps.payments_reconcile() == {"checked": 1, "fulfilled": 1, "cancelled": 0}
        # Once done, the next run has nothing to ask about.
        assert sweeps.payments_reconcile() == {"checked": 0, "fulfilled": 0, "cancelled": 0}

    order.refresh_from_db()
    line.refresh_from_db()
    assert (order.status, order.card_last4) == (Order.Status.FULFILLED, "4242")
    assert line.expires_at == old_expiry + 30 * DAY
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert Notice.objects.filter(key=f"order-fulfilled:{order.pk}", email__isnull=False).exists()


def test_reconciliation_cancels_an_order_open_for_over_a_day_and_its_intent_at_stripe(
    client, customer, line, localstripe
):
    old_expiry = line.expires_at
    order = renew_on_the_page(client, customer, line)
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1), tick=False):
        assert sweeps.payments_reconcile() == {"checked": 1, "fulfilled": 0, "cancelled": 1}

    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert line.expires_at == old_expiry
    intent = requests.get(
        f"{localstripe}/v1/payment_intents/{order.payment_intent_id}", auth=STRIPE_AUTH, timeout=10
    ).json()
    assert intent["status"] == "canceled"


# --- Auto-renew ----------------------------------------------------------------------------


def test_auto_renew_charges_each_due_line_once_across_two_runs(
    customer, line, plans: dict[str, Plan], localstripe, card: Callable[[str], str]
):
    Line.objects.filter(pk=line.pk).update(expires_at=timezone.now() + timedelta(hours=30))
    line.refresh_from_db()
    services.auto_renew_set(line=line, enabled=True, payment_method_id=card("ok"))
    # Another line with auto-renew on, five days from expiry: not yet.
    later = LineFactory.create(owner=customer, auto_renew=True, expires_at=timezone.now() + 5 * DAY, plan=line.plan)
    old_expiry = line.expires_at

    # The first run tells the customer (the charge comes 24 hours after the notice); a day later
    # the line is charged, once however often the sweep runs.
    now = timezone.now()
    assert sweeps.auto_renew_run(now=now) == 0
    assert Notice.objects.filter(line_ref=line.pk, kind=Notice.Kind.AUTO_RENEW_UPCOMING).count() == 1
    assert sweeps.auto_renew_run(now=now + DAY) == 1
    assert sweeps.auto_renew_run(now=now + DAY) == 0

    [order] = Order.objects.all()
    assert (order.line_id, order.status, order.off_session) == (line.pk, Order.Status.FULFILLED, True)
    assert order.renews_expiry == old_expiry
    line.refresh_from_db()
    assert line.expires_at == old_expiry + 30 * DAY
    assert not Order.objects.filter(line=later).exists()
