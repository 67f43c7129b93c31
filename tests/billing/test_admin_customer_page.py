"""The customer's page in the admin is the support desk's one view: lines by number with their
plan, expiry, live allowance (GB, minutes, SMS) and last usage; orders; notices and emails;
support requests; the second step; failed log-ins; the saved card with *Remove card*. In that
order, in a fixed number of queries however much the customer has."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.admin.customer_page import customer_action_url
from billing.models import PaymentProfile, new_public_id
from boomcard.formats import phone_number
from plans.models import Line
from tests.customer_desk import (
    audit_diff,  # noqa: F401  (until the audit trail's fix merges)
    customer_with_everything,
)
from tests.factories import UserFactory
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

PANELS = ["panel-lines", "panel-orders", "panel-messages", "panel-support", "panel-second-step", "panel-lockout",
          "panel-card"]  # fmt: skip


@pytest.fixture
def admin_client(client, staff):
    log_in_with_second_step(client, staff)
    return client


def change_url(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def test_the_page_shows_every_panel_in_order_then_the_form(admin_client, customer, plans):
    customer_with_everything(customer, lines=1)

    page = admin_client.get(change_url(customer)).content.decode()

    places = [page.index(f'id="{panel}"') for panel in PANELS]
    assert places == sorted(places)
    assert places[-1] < page.index('id="user_form"')


def test_lines_are_shown_by_number_with_plan_expiry_allowance_in_units_and_last_usage(admin_client, customer, plans):
    made = customer_with_everything(customer, lines=2)

    page = admin_client.get(change_url(customer)).content.decode()
    lines = page[page.index('id="panel-lines"') : page.index('id="panel-orders"')]

    for line in made["lines"]:
        line = Line.objects.get(pk=line.pk)
        assert phone_number(line.msisdn) in lines
        assert reverse("admin:plans_line_change", args=[line.pk]) in lines
    assert "Basic 30" in lines or plans["basic-30"].name_en in lines
    assert "days left" in lines
    assert "GB" in lines
    assert " min" in lines
    assert "SMS" in lines
    assert "Data 512 MB" in lines  # the last usage record, in units
    assert "1073741824" not in lines
    assert "536870912" not in lines


def test_orders_show_their_state_amount_and_link(admin_client, customer, plans):
    made = customer_with_everything(customer, lines=1)
    paid = made["orders"][0].paid

    page = admin_client.get(change_url(customer)).content.decode()
    orders = page[page.index('id="panel-orders"') : page.index('id="panel-messages"')]

    assert reverse("admin:billing_order_change", args=[paid.pk]) in orders
    assert paid.public_id in orders
    assert "Paid and added" in orders
    assert "Waiting for payment" in orders
    assert "¥" in orders


def test_notices_emails_support_second_step_lockout_and_card_are_shown(admin_client, customer, plans):
    made = customer_with_everything(customer, lines=1)

    page = admin_client.get(change_url(customer)).content.decode()

    messages = page[page.index('id="panel-messages"') : page.index('id="panel-support"')]
    assert "Your password was changed" in messages
    assert "Failed" in messages
    assert "SMTP 550" in messages
    assert f'name="target" value="{made["emails"][0].pk}"' in messages
    support = page[page.index('id="panel-support"') : page.index('id="panel-second-step"')]
    assert "My eSIM 0 will not install." in support
    second = page[page.index('id="panel-second-step"') : page.index('id="panel-lockout"')]
    assert "On" in second
    assert ">10<" in second
    lockout = page[page.index('id="panel-lockout"') : page.index('id="panel-card"')]
    assert "Locked out" in lockout
    assert "203.0.113.9" in lockout
    card = page[page.index('id="panel-card"') : page.index('id="user_form"')]
    assert "visa •••• 4242" in card
    assert customer_action_url(customer, "remove-card") in card


def test_the_page_reads_in_chinese(admin_client, customer, staff, plans):
    customer_with_everything(customer, lines=1)
    staff.language = "zh-hans"
    staff.save()
    with translation.override("zh-hans"):
        page = admin_client.get(change_url(customer), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for text in ("号码", "订单", "通知和邮件", "客服工单", "两步验证", "登录失败", "保存的银行卡", "剩余 / 总量"):
        assert text in page


def test_a_customer_with_nothing_yet_has_a_page_that_says_so(admin_client):
    bare = UserFactory.create(email="")
    page = admin_client.get(change_url(bare)).content.decode()
    for text in ("No lines.", "No orders.", "No notices or emails yet.", "No support requests.",
                 "No failed log-ins", "No saved card."):  # fmt: skip
        assert text in page


def test_remove_card_asks_first_then_forgets_the_card_turns_auto_renew_off_and_is_audited(
    admin_client, customer, staff, plans
):
    made = customer_with_everything(customer, lines=2)
    Line.objects.filter(pk=made["lines"][0].pk).update(auto_renew=True)
    url = customer_action_url(customer, "remove-card")

    confirm = admin_client.post(url)
    assert confirm.status_code == 200
    assert "Remove this customer" in confirm.content.decode()
    assert PaymentProfile.objects.get(user=customer).has_card

    response = admin_client.post(url, {"confirmed": "yes", "reason": "card reported stolen"})

    assert response.status_code == 302
    profile = PaymentProfile.objects.get(user=customer)
    assert (profile.has_card, profile.card_brand, profile.card_last4) == (False, "", "")
    assert not Line.objects.filter(owner=customer, auto_renew=True).exists()
    entry = LogEntry.objects.get_for_object(customer).latest("timestamp")
    assert entry.actor == staff
    assert entry.additional_data == {"action": "card_remove", "reason": "card reported stolen"}
    assert entry.changes_dict == {"card": ["visa •••• 4242", ""], "lines_with_auto_renew": ["1", "0"]}
    assert "No saved card." in admin_client.get(change_url(customer)).content.decode()


def test_remove_card_without_a_card_says_so(admin_client, customer):
    response = admin_client.post(customer_action_url(customer, "remove-card"), {"confirmed": "yes"}, follow=True)
    assert "This customer has no saved card." in response.content.decode()


def page_queries(client, user) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(change_url(user)).status_code == 200
    return len(queries)


def test_the_page_takes_the_same_number_of_queries_for_one_line_or_six(admin_client, plans):
    small, large = UserFactory.create(), UserFactory.create()
    customer_with_everything(small, lines=1)
    customer_with_everything(large, lines=6)
    page_queries(admin_client, small)  # the session and the content types, cached from here on

    assert page_queries(admin_client, small) == page_queries(admin_client, large)


def test_the_page_stays_within_its_query_budget(admin_client, plans, django_assert_max_num_queries):
    user = UserFactory.create()
    customer_with_everything(user, lines=6)
    admin_client.get(change_url(user))
    with django_assert_max_num_queries(17):
        assert admin_client.get(change_url(user)).status_code == 200


def test_past_the_latest_twenty_orders_a_link_lists_all_of_the_customers_orders(admin_client, customer, plans):
    made = customer_with_everything(customer, lines=1)
    paid = made["orders"][0].paid
    for _ in range(20):
        paid.pk, paid.public_id, paid.payment_intent_id = None, new_public_id(), None
        paid.save()
    page = admin_client.get(change_url(customer)).content.decode()
    all_orders = f"{reverse('admin:billing_order_changelist')}?user__id__exact={customer.pk}"
    assert "All 22 orders" in page
    assert all_orders in page
    listed = admin_client.get(all_orders)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 22
