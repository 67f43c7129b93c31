"""Turning auto-renew on, saving a card and removing it need a fresh "confirm it's you";
turning it off does not; nor does anything that only makes the coming charges smaller."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.reauth import REAUTH_AT_KEY
from billing.models import AutoRenewal, PaymentProfile
from plans.models import Line
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db

CONFIRM = reverse("accounts:reauth")


@pytest.fixture
def saved(customer: User) -> PaymentProfile:
    return PaymentProfile.objects.create(
        user=customer,
        stripe_customer_id="cus_test",
        card_payment_method_id="pm_test",
        card_brand="visa",
        card_last4="4242",
    )


def browser(customer: User, *, fresh: bool) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    if not fresh:
        session = client.session
        session.pop(REAUTH_AT_KEY, None)
        session.save()
    return client


def test_turning_on_with_a_stale_session_confirms_first(customer, line, saved):
    page = reverse("billing:auto_renew", args=[line.pk])
    response = browser(customer, fresh=False).post(page, {"enabled": "on"})
    assert response["Location"] == f"{CONFIRM}?next={page.replace('/', '%2F')}"
    line.refresh_from_db()
    assert not line.auto_renew


def test_turning_on_with_a_fresh_session_works(customer, line, saved):
    browser(customer, fresh=True).post(reverse("billing:auto_renew", args=[line.pk]), {"enabled": "on"})
    line.refresh_from_db()
    assert line.auto_renew


def test_the_script_gets_403_json_with_the_confirm_address(customer, line, saved):
    client = browser(customer, fresh=False)
    page = reverse("billing:auto_renew", args=[line.pk])
    answer = client.post(page, {"enabled": "on", "payment_method": "pm_new"}, headers={"Accept": "application/json"})
    assert answer.status_code == 403
    assert answer.json()["reauth_url"].startswith(CONFIRM + "?next=")
    setup = client.post(reverse("billing:card_setup"), {"next": page}, headers={"Accept": "application/json"})
    assert setup.status_code == 403
    assert setup.json()["reauth_url"] == f"{CONFIRM}?next={page.replace('/', '%2F')}"


def test_turning_off_needs_no_confirmation(customer, line, saved):
    Line.objects.filter(pk=line.pk).update(auto_renew=True)
    browser(customer, fresh=False).post(reverse("billing:auto_renew", args=[line.pk]), {})
    line.refresh_from_db()
    assert not line.auto_renew


def test_removing_the_card_needs_a_confirmation_and_turns_auto_renew_off_everywhere(customer, line, saved):
    other = LineFactory.create(owner=customer)
    Line.objects.filter(owner=customer).update(auto_renew=True)
    page = reverse("billing:auto_renew", args=[line.pk])
    assert browser(customer, fresh=False).post(page, {"action": "remove_card"})["Location"].startswith(CONFIRM)
    saved.refresh_from_db()
    assert saved.has_card

    response = browser(customer, fresh=True).post(page, {"action": "remove_card"})
    assert response["Location"] == reverse("plans:line", args=[line.pk])
    saved.refresh_from_db()
    assert not saved.has_card
    assert not Line.objects.filter(pk__in=[line.pk, other.pk], auto_renew=True).exists()


def test_letting_auto_renew_charge_more_needs_a_confirmation_and_charging_less_does_not(customer, line, saved):
    """A stolen session may only make the coming charges smaller: a dearer plan for the next
    renewal, a higher monthly limit or none confirm first; a cheaper plan, a lower limit do not."""
    Line.objects.filter(pk=line.pk).update(auto_renew=True)
    page = reverse("billing:auto_renew", args=[line.pk])
    stale = browser(customer, fresh=False)

    def chosen() -> str | None:
        renewal = AutoRenewal.objects.filter(line=line).select_related("plan").first()
        return renewal.plan.code if renewal and renewal.plan else None

    def cap() -> int | None:
        return PaymentProfile.objects.get(pk=saved.pk).monthly_cap_minor

    refused = stale.post(page, {"action": "next_plan", "plan": "basic-30"})
    back = f"{page}?plan=basic-30"  # once confirmed, the page shows the plan picked, for one click
    assert refused["Location"] == f"{CONFIRM}?{urlencode({'next': back})}"
    assert chosen() is None
    assert '<option value="basic-30" selected>' in stale.get(back).content.decode()
    assert '<option value="basic-10" selected>' in stale.get(f"{page}?plan=no-such-plan").content.decode()
    browser(customer, fresh=True).post(page, {"action": "next_plan", "plan": "basic-30"})
    assert chosen() == "basic-30"
    assert stale.post(page, {"action": "next_plan", "plan": "basic-10"})["Location"] == page
    assert chosen() is None  # the line's own plan again

    assert stale.post(page, {"action": "cap", "cap": "100"})["Location"] == page  # none before: a limit lowers
    assert cap() == 10000
    assert stale.post(page, {"action": "cap", "cap": "50"})["Location"] == page
    assert cap() == 5000
    for higher in ("50.01", ""):
        back = f"{page}?{urlencode({'cap': higher})}"
        assert (
            stale.post(page, {"action": "cap", "cap": higher})["Location"] == f"{CONFIRM}?{urlencode({'next': back})}"
        )
        assert cap() == 5000
    assert (
        'name="cap" inputmode="decimal" maxlength="12" value="50.01"' in stale.get(f"{page}?cap=50.01").content.decode()
    )
    assert browser(customer, fresh=True).post(page, {"action": "cap", "cap": ""})["Location"] == page
    assert cap() is None


def test_the_script_gets_403_json_for_a_dearer_plan_from_a_stale_session(customer, line, saved):
    Line.objects.filter(pk=line.pk).update(auto_renew=True)
    page = reverse("billing:auto_renew", args=[line.pk])
    answer = browser(customer, fresh=False).post(
        page, {"action": "next_plan", "plan": "bigdata-100"}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 403
    assert answer.json()["reauth_url"].startswith(CONFIRM + "?next=")
    assert not AutoRenewal.objects.filter(plan__isnull=False).exists()
