"""The one-tap link in a renewal reminder: the pay page of a ready order for the same plan."""

import pytest
from django.urls import reverse

from billing.models import Order
from plans.services import bucket_grant
from tests.billing.stripe_events import start_order
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db


def test_one_tap_opens_the_pay_page_of_an_order_for_the_lines_plan(client, customer, line, localstripe):
    client.force_login(customer)

    response = client.get(reverse("billing:renew_now", args=[line.pk]))

    order = Order.objects.get(line=line)
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:pay", args=[order.public_id])
    assert (order.plan_id, order.status, order.currency) == (line.plan_id, Order.Status.PENDING, "CNY")
    assert order.payment_intent_id
    assert client.get(response["Location"]).status_code == 200


def test_one_tap_with_an_order_under_way_opens_that_order_and_cancels_nothing(
    client, customer, line, localstripe, plans
):
    under_way = start_order(client, customer, line, plan="basic-30")

    response = client.get(reverse("billing:renew_now", args=[line.pk]))

    assert response["Location"] == reverse("billing:pay", args=[under_way.public_id])
    under_way.refresh_from_db()
    assert under_way.status == Order.Status.PENDING
    assert Order.objects.filter(line=line).count() == 1


def test_one_tap_for_a_flexible_plan_opens_the_renewal_page(client, customer, plans, localstripe):
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"])
    line.plan = plans["flex"]
    line.save(update_fields=["plan"])
    client.force_login(customer)

    response = client.get(reverse("billing:renew_now", args=[line.pk]))

    assert response["Location"] == reverse("billing:renew", args=[line.pk])
    assert not Order.objects.filter(line=line).exists()
