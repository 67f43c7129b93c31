"""Auto-renew: a saved card is charged off-session before expiry, once per expiry date."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts.notice_text import notice_text
from billing import services
from billing.models import Order, PaymentProfile
from plans.models import Entitlement

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
    assert Entitlement.objects.filter(order=first).count() == 1


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
