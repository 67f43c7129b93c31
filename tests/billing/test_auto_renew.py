"""Auto-renew: a saved card is charged off-session before expiry, once per expiry date."""

from datetime import timedelta

import pytest
import requests
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.notice_text import notice_text
from billing import gateway, services
from billing.models import Order, PaymentProfile
from plans.models import Bucket

pytestmark = pytest.mark.django_db


@pytest.fixture
def expiring_line(line, customer, localstripe, card):
    """The line expires in 30 hours, with auto-renew on and card 4242 saved."""
    line.expires_at = timezone.now() + timedelta(hours=30)
    line.save(update_fields=["expires_at"])
    return services.auto_renew_set(line=line, enabled=True, payment_method_id=card("ok"))


def test_turning_auto_renew_on_saves_the_card(expiring_line, customer):
    profile = PaymentProfile.objects.get(user=customer)
    assert profile.card_last4 == "4242"
    assert expiring_line.auto_renew


def test_auto_renew_cannot_be_on_without_a_card(line, localstripe):
    with pytest.raises(ValidationError):
        services.auto_renew_set(line=line, enabled=True)


def test_line_expiring_within_48_hours_is_renewed_once_whatever_runs_twice(expiring_line):
    old_expiry = expiring_line.expires_at
    first = services.auto_renew_charge(line=expiring_line)
    second = services.auto_renew_charge(line=expiring_line)
    assert first is not None
    assert first.status == Order.Status.FULFILLED
    assert first.off_session
    assert second is None
    expiring_line.refresh_from_db()
    assert expiring_line.expires_at == old_expiry + timedelta(days=30)
    assert Order.objects.count() == 1
    assert Bucket.objects.filter(order_item__order=first).count() == 1


def test_line_further_from_expiry_is_not_charged(line, customer, localstripe, card):
    line.expires_at = timezone.now() + timedelta(days=5)
    line.save(update_fields=["expires_at"])
    services.auto_renew_set(line=line, enabled=True, payment_method_id=card("ok"))
    assert services.auto_renew_charge(line=line) is None
    assert Order.objects.count() == 0


def test_declined_saved_card_asks_the_customer_to_pay_by_hand(line, customer, localstripe, card):
    line.expires_at = timezone.now() + timedelta(hours=10)
    line.save(update_fields=["expires_at"])
    services.auto_renew_set(line=line, enabled=True, payment_method_id=card("declined"))
    order = services.auto_renew_charge(line=line)
    assert order is not None
    assert order.status == Order.Status.FAILED
    notice = customer.notices.get(kind="payment_needed")
    assert notice.link == f"/billing/orders/{order.public_id}/pay/"
    # The bank's reason in the customer's language, not Stripe's English.
    with translation.override("zh-hans"):
        assert "银行拒绝了此次支付" in notice_text(notice).body
    assert "银行拒绝了此次支付" not in order.failure_reason
    # Running again for the same expiry does not charge or notify twice.
    assert services.auto_renew_charge(line=line) is None
    assert customer.notices.filter(kind="payment_needed").count() == 1


def test_card_needing_authentication_asks_the_customer(line, customer, localstripe, card):
    line.expires_at = timezone.now() + timedelta(hours=10)
    line.save(update_fields=["expires_at"])
    services.auto_renew_set(line=line, enabled=True, payment_method_id=card("3ds"))
    order = services.auto_renew_charge(line=line)
    assert order is not None
    assert order.status == Order.Status.REQUIRES_ACTION
    assert customer.notices.filter(kind="payment_needed").count() == 1


def test_turning_auto_renew_off_stops_the_charge(expiring_line):
    services.auto_renew_set(line=expiring_line, enabled=False)
    expiring_line.refresh_from_db()
    assert services.auto_renew_charge(line=expiring_line) is None


def _saved_to_someone_else(localstripe: str, payment_method_id: str) -> str:
    """Attach the card to another Stripe customer, as that customer's own saved card; its id."""
    auth = ("sk_test_boom_local", "")
    other = requests.post(f"{localstripe}/v1/customers", data={"email": "other@example.com"}, auth=auth, timeout=10)
    other.raise_for_status()
    attached = requests.post(
        f"{localstripe}/v1/payment_methods/{payment_method_id}/attach",
        data={"customer": other.json()["id"]},
        auth=auth,
        timeout=10,
    )
    attached.raise_for_status()
    return str(other.json()["id"])


def test_a_card_saved_to_another_stripe_customer_is_refused_and_left_where_it_is(line, customer, localstripe, card):
    stolen = card("ok")
    owner = _saved_to_someone_else(localstripe, stolen)

    with pytest.raises(gateway.CardDeclined) as refused:
        services.auto_renew_set(line=line, enabled=True, payment_method_id=stolen)

    assert refused.value.code == gateway.CARD_OF_ANOTHER_CUSTOMER
    line.refresh_from_db()
    assert not line.auto_renew
    assert not PaymentProfile.objects.filter(user=customer, card_payment_method_id=stolen).exists()
    method = requests.get(
        f"{localstripe}/v1/payment_methods/{stolen}", auth=("sk_test_boom_local", ""), timeout=10
    ).json()
    assert method["customer"] == owner


def test_auto_renew_page_asks_for_the_card_again_when_it_is_another_customers(line, customer, localstripe, card):
    stolen = card("ok")
    _saved_to_someone_else(localstripe, stolen)
    browser = Client(headers={"Accept-Language": "en"})
    browser.force_login(customer)

    response = browser.post(
        reverse("billing:auto_renew", args=[line.pk]), {"enabled": "on", "payment_method": stolen}, follow=True
    )

    assert response.status_code == 200
    assert "Enter your card again." in response.content.decode()
    line.refresh_from_db()
    assert not line.auto_renew
