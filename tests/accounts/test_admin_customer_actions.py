"""The buttons of the customer's page in the admin that the accounts app adds: *Resend* an email
(through the outbox), *Reset authenticator* (confirmed first; the customer is told) and *Unlock*
(django-axes' failures forgotten). Each runs a service and is recorded in the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from axes.models import AccessAttempt
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin.customer_page import customer_action_url
from accounts.lockout import account_key
from accounts.models import EmailDelivery, Notice, User
from accounts.outbox import email_send, notice_create
from accounts.services import desk
from tests.customer_desk import audit_diff  # noqa: F401  (until the audit trail's fix merges)
from tests.factories import CUSTOMER_EMAIL, UserFactory
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff):
    log_in_with_second_step(client, staff)
    return client


def change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def last_action(user: User) -> LogEntry:
    return LogEntry.objects.get_for_object(user).latest("timestamp")


def failed_email(user: User) -> EmailDelivery:
    notice = notice_create(user=user, kind=Notice.Kind.PASSWORD_CHANGED, key=f"test:{user.pk}", link="/accounts/")
    assert notice is not None
    delivery = notice.email
    delivery.status, delivery.attempts, delivery.last_error = EmailDelivery.Status.FAILED, 8, "SMTP: 550 no such user"
    delivery.save()
    return delivery


def test_resend_puts_a_failed_email_back_in_the_outbox_to_the_corrected_address(
    admin_client, customer, staff, django_capture_on_commit_callbacks
):
    delivery = failed_email(customer)
    customer.email = "fixed@example.com"
    customer.save()

    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(customer_action_url(customer, "resend-email"), {"target": delivery.pk})

    assert response.status_code == 302
    assert response["Location"] == f"{change_url(customer)}#panel-messages"
    assert len(queued) == 1  # the email's task, queued on commit
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error, delivery.to) == (
        "pending",
        0,
        "",
        "fixed@example.com",
    )
    assert email_send(delivery_id=delivery.pk) == "sent"
    assert mail.outbox[-1].to == ["fixed@example.com"]
    entry = last_action(customer)
    assert entry.actor == staff
    assert entry.additional_data["action"] == "email_resend"
    assert entry.changes_dict["email"] == [f"{CUSTOMER_EMAIL} (failed)", "fixed@example.com (pending)"]


def test_resend_of_another_customers_email_is_refused_with_a_message(admin_client, customer):
    other = UserFactory.create()
    delivery = failed_email(other)

    response = admin_client.post(customer_action_url(customer, "resend-email"), {"target": delivery.pk}, follow=True)

    assert "This customer has no such email." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "failed"


@pytest.mark.parametrize("target", ["", "abc", "999999", "1" * 80])
def test_resend_with_a_bad_target_is_a_message_not_an_error(admin_client, customer, target):
    response = admin_client.post(customer_action_url(customer, "resend-email"), {"target": target}, follow=True)
    assert response.status_code == 200
    assert "This customer has no such email." in response.content.decode()


def test_resend_of_an_email_being_sent_right_now_is_refused(customer):
    delivery = failed_email(customer)
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        status="pending", claimed_until=timezone.now() + timedelta(minutes=1)
    )
    with pytest.raises(Exception, match="being sent right now"):
        desk.email_resend(user=customer, delivery_id=delivery.pk)


def test_reset_authenticator_asks_first_and_changes_nothing_until_confirmed(admin_client, customer):
    TOTPDevice.objects.create(user=customer, name="Authenticator app", confirmed=True)
    url = customer_action_url(customer, "reset-authenticator")

    page = admin_client.post(url)

    assert page.status_code == 200
    text = page.content.decode()
    assert "Remove this customer&#x27;s authenticator app" in text or "Remove this customer's authenticator" in text
    assert 'name="confirmed" value="yes"' in text
    assert TOTPDevice.objects.filter(user=customer).exists()
    assert admin_client.get(url).status_code == 200
    assert TOTPDevice.objects.filter(user=customer).exists()


def test_reset_authenticator_removes_the_devices_tells_the_customer_and_is_audited(admin_client, customer, staff):
    TOTPDevice.objects.create(user=customer, name="Authenticator app", confirmed=True)
    static = StaticDevice.objects.create(user=customer, name="Recovery codes", confirmed=True)
    StaticToken.objects.bulk_create([StaticToken(device=static, token=f"code{n:04d}") for n in range(3)])

    response = admin_client.post(
        customer_action_url(customer, "reset-authenticator"), {"confirmed": "yes", "reason": "lost their phone"}
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=customer).exists()
    assert not StaticDevice.objects.filter(user=customer).exists()
    notice = Notice.objects.get(user=customer, kind=Notice.Kind.TWO_FACTOR_OFF)
    assert notice.email.to == customer.email
    entry = last_action(customer)
    assert entry.additional_data == {"action": "two_factor_reset", "reason": "lost their phone"}
    assert entry.changes_dict == {"authenticator": ["on", "off"], "recovery_codes": ["3", "0"]}


def test_reset_authenticator_with_nothing_to_reset_says_so(admin_client, customer):
    response = admin_client.post(
        customer_action_url(customer, "reset-authenticator"), {"confirmed": "yes"}, follow=True
    )
    assert "has no authenticator app or recovery codes" in response.content.decode()
    assert not LogEntry.objects.get_for_object(customer).exists()


def lock_out(user: User, address: str = "203.0.113.9", failures: int = 5) -> None:
    AccessAttempt.objects.create(
        username=account_key(user),
        ip_address=address,
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=failures,
    )


def test_the_page_shows_the_lockout_and_unlock_lets_the_customer_in_again(admin_client, customer, staff):
    lock_out(customer)
    lock_out(customer, address="198.51.100.7", failures=2)

    page = admin_client.get(change_url(customer)).content.decode()
    assert "Locked out" in page
    assert "203.0.113.9" in page

    response = admin_client.post(customer_action_url(customer, "unlock"), {"reason": "called the desk"})

    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=account_key(customer)).exists()
    entry = last_action(customer)
    assert entry.actor == staff
    assert entry.additional_data["action"] == "unlock"
    assert entry.changes_dict == {"failed_log_in_addresses": ["2", "0"]}
    assert "No failed log-ins" in admin_client.get(change_url(customer)).content.decode()


def test_unlock_with_nothing_locked_says_so(admin_client, customer):
    response = admin_client.post(customer_action_url(customer, "unlock"), follow=True)
    assert "no failed log-ins to forget" in response.content.decode()


def test_staff_who_may_only_view_customers_see_the_page_but_no_buttons_and_cannot_act(client, customer):
    viewer = UserFactory.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    log_in_with_second_step(client, viewer)
    lock_out(customer)

    page = client.get(change_url(customer))

    assert page.status_code == 200
    assert customer_action_url(customer, "unlock") not in page.content.decode()
    assert client.post(customer_action_url(customer, "unlock")).status_code == 403
    assert AccessAttempt.objects.filter(username=account_key(customer)).exists()


def test_an_unknown_action_or_customer_is_not_found(admin_client, customer):
    assert admin_client.post(customer_action_url(customer, "unlock").replace("unlock", "explode")).status_code == 404
    missing = reverse("admin:accounts_user_action", args=[999999, "unlock"])
    assert admin_client.post(missing).status_code == 404


def test_actions_need_the_admin_with_its_second_step(client, customer):
    response = client.post(customer_action_url(customer, "unlock"))
    assert response.status_code == 302
    assert "/login" in response["Location"]
