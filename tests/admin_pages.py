"""Walking the whole admin: one object of every kind, and every page staff can open on them.

``every_kind()`` makes the objects (customers of each sort, staff, lines with and without an
owner, orders in every state, and a row of every other registered model); ``admin_pages(client)``
yields each admin URL to open, and ``form_data(html)`` reads a change form back the way a browser
submits it, so that a test can press *Save* without changing anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from accounts.models import (
    EmailDelivery,
    EnrolmentCode,
    Notice,
    Registration,
    SmsCode,
    StaffAlert,
    SupportRequest,
    User,
)
from billing.models import (
    AutoRenewal,
    Dispute,
    Order,
    OrderItem,
    PaymentProfile,
    Refund,
    RenewalReminder,
    StripeEvent,
)
from boomcard.audit import audit_action, audit_change
from plans.models import DailyUsage, Line, Plan, UsageBatch, UsageBatchKey, UsageRecord
from plans.services import bucket_grant
from tests.factories import LineFactory, UserFactory
from tests.security.helpers import authenticator_for


def every_kind(*, staff: User, customer: User, plans: dict[str, Plan]) -> dict[str, Any]:
    """One object of every kind the admin lists, the awkward ones included; by a name for each."""
    now = timezone.now()
    made: dict[str, Any] = {"staff": staff, "customer": customer}
    made["plain staff"] = UserFactory.create(username="desk", is_staff=True)
    made["inactive customer"] = UserFactory.create(is_active=False)
    made["customer without email"] = UserFactory.create(email="", language="")
    made["unverified customer"] = UserFactory.create(phone_verified_at=None)
    made["group"] = Group.objects.create(name="Support desk")
    line = LineFactory.create(owner=customer, nickname="Mum")
    bucket = bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=3))
    made["line"], made["bucket"] = line, bucket
    made["line without owner"] = LineFactory.create()
    made["suspended line"] = LineFactory.create(owner=customer, status=Line.Status.SUSPENDED)
    for number, status in enumerate(Order.Status):
        order_line = line if status not in Order.OPEN else LineFactory.create(owner=customer)
        order = Order.objects.create(
            user=customer,
            line=order_line,
            plan=plans["basic-10"],
            kind=Order.Kind.RENEWAL,
            amount_minor=3800,
            currency="CNY",
            status=status,
            payment_intent_id=f"pi_walk_{number}",
            payment_method_type="card",
            card_brand="visa",
            card_last4="4242",
            failure_reason="Your card was declined." if status == Order.Status.FAILED else "",
        )
        OrderItem.objects.create(
            order=order,
            position=0,
            plan=plans["basic-10"],
            amount_minor=3800,
            bucket=bucket if status == Order.Status.FULFILLED else None,
        )
        made[f"order {status}"] = order
    paid = made["order refunded"]
    made["refund"] = Refund.objects.create(
        order=paid, amount_minor=3800, currency="CNY", status=Refund.Status.SUCCEEDED, stripe_refund_id="re_walk"
    )
    made["dispute"] = Dispute.objects.create(
        order=made["order fulfilled"],
        stripe_dispute_id="dp_walk",
        amount_minor=3800,
        currency="CNY",
        status=Dispute.Status.NEEDS_RESPONSE,
        reason="fraudulent",
    )
    made["stripe event"] = StripeEvent.objects.create(
        event_id="evt_walk", type="payment_intent.succeeded", payment_intent_id="pi_walk_4", payload={"id": "evt_walk"}
    )
    made["payment profile"] = PaymentProfile.objects.create(
        user=customer,
        stripe_customer_id="cus_walk",
        card_payment_method_id="pm_walk",
        card_brand="visa",
        card_last4="4242",
        monthly_cap_minor=20000,
    )
    made["automatic renewal"] = AutoRenewal.objects.create(
        line=line, expires_at=line.expires_at or now, notified_at=now, skipped_at=now
    )
    made["reminder"] = RenewalReminder.objects.create(line=line, expires_at=line.expires_at or now, days=3)
    made["usage record"] = UsageRecord.objects.create(
        record_id="walk-1", line=line, kind=UsageRecord.Kind.DATA, amount=1000, country="HK", at=now
    )
    made["daily usage"] = DailyUsage.objects.create(line=line, day=now.date(), data=1000)
    registration = Registration.objects.create(phone=customer.phone, password="!")
    made["registration"] = registration
    made["sms code"] = SmsCode.objects.create(
        phone=customer.phone,
        purpose=SmsCode.Purpose.REGISTER,
        registration=registration,
        code_hash="0" * 64,
        expires_at=now + timedelta(minutes=10),
    )
    made["enrolment code"] = EnrolmentCode.objects.create(
        user=made["plain staff"], created_by=staff, code_hash="1" * 64, expires_at=now + timedelta(hours=1)
    )
    made["authenticator"] = authenticator_for(made["plain staff"])
    backup = StaticDevice.objects.create(user=staff, name="Backup codes")
    StaticToken.objects.create(device=backup, token="abcd1234")
    made["backup codes"] = backup
    lockout = {"ip_address": "203.0.113.9", "user_agent": "walk", "username": "+8613900000000", "path_info": "/login/"}
    made["access attempt"] = AccessAttempt.objects.create(
        **lockout, get_data="", post_data="", http_accept="*/*", failures_since_start=5
    )
    made["access log"] = AccessLog.objects.create(**lockout, http_accept="*/*")
    made["access failure"] = AccessFailureLog.objects.create(**lockout, http_accept="*/*", locked_out=True)
    # Rows no admin lists yet, made so that the admins other parts of the desk add find one.
    notice = Notice.objects.create(
        user=customer, kind=Notice.Kind.LOW_BALANCE, key="walk-notice", line_number="+85251000001"
    )
    made["notice"] = notice
    made["email"] = EmailDelivery.objects.create(notice=notice, to=customer.email)
    made["failed email"] = EmailDelivery.objects.create(
        support_request=SupportRequest.objects.create(
            user=customer, topic=SupportRequest.Topic.PAYING, message="Charged twice?"
        ),
        to="support@boom.example",
        status=EmailDelivery.Status.FAILED,
        last_error="550 mailbox unavailable",
    )
    made["support request from a logged-out visitor"] = SupportRequest.objects.create(
        contact_email="visitor@example.com", topic=SupportRequest.Topic.ESIM, message="QR code?"
    )
    made["staff alert"] = StaffAlert.objects.create(kind=StaffAlert.Kind.DISPUTE, key="walk-alert")
    batch = UsageBatch.objects.create(
        records=[["walk-2", "+85251000001", "data", 1, "HK", now.isoformat()]], record_count=1
    )
    made["usage batch"] = batch
    UsageBatchKey.objects.create(key="walk-key", batch=batch, body_sha256="0" * 64)
    old_plan = Plan.objects.get(pk=plans["basic-10"].pk)
    plans["basic-10"].validity_days = 31
    made["audit entry"] = audit_change(actor=staff, old=old_plan, new=plans["basic-10"])
    made["audit action"] = audit_action(
        actor=staff, obj=paid, action="refund", changes={"status": ("paid", "refunded")}
    )
    plans["basic-10"].refresh_from_db()
    return made


def unmade_models() -> list[str]:
    """Registered models with no row: every_kind() should make one of each."""
    return sorted(model._meta.label for model in admin.site._registry if not model._default_manager.exists())


@dataclass
class Page:
    url: str
    method: str = "GET"
    data: dict[str, Any] = field(default_factory=dict)


def admin_urls(*, objects_per_model: int = 12) -> Iterator[str]:
    """Every admin page to open with GET: the index, each app, each list (with a search), each add
    form, and each object's change, history and delete pages."""
    yield reverse("admin:index")
    labels = sorted({model._meta.app_label for model in admin.site._registry})
    for label in labels:
        yield reverse("admin:app_list", args=[label])
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        yield changelist
        if model_admin.search_fields:
            yield f"{changelist}?q=138"
            yield f"{changelist}?q=x"
        # Every admin has an add URL; one that refuses adding answers 403, which is no failure.
        yield reverse("admin:{}_{}_add".format(*info))
        for obj in model._default_manager.order_by("pk")[:objects_per_model]:
            for page in ("change", "history", "delete"):
                yield reverse("admin:{}_{}_{}".format(*info, page), args=[obj.pk])


def filter_urls(client: Client, changelist: str) -> list[str]:
    """Each choice of each filter on a list page, as the side bar links to it."""
    response = client.get(changelist)
    if response.status_code != 200 or response.context is None or "cl" not in response.context:
        return []
    cl = response.context["cl"]
    urls = []
    for spec in cl.filter_specs:
        for choice in spec.choices(cl):
            query = choice.get("query_string")
            if query and query != "?":
                urls.append(f"{changelist}{query}")
    return urls


def change_forms() -> Iterator[tuple[str, str]]:
    """The change page of every object of every registered model, and what the object is."""
    for model, _model_admin in admin.site._registry.items():
        for obj in model._default_manager.order_by("pk")[:12]:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
            yield url, f"{model._meta.verbose_name} {obj}"


class _FormReader(HTMLParser):
    """The fields of the page's change form (``#<model>_form``), as a browser would post them."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.in_form = False
        self.select: str | None = None
        self.select_multiple = False
        self.select_values: list[str] = []
        self.first_option: str | None = None
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self.in_form = True
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.setdefault(name, []).append(a.get("value", "on"))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.data.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name and "disabled" not in a:
            self.select, self.select_multiple, self.select_values, self.first_option = name, "multiple" in a, [], None
        elif tag == "option" and self.select is not None:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.select_values.append(a.get("value", ""))
        elif tag == "textarea" and name and "disabled" not in a:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select is not None:
            values = self.select_values
            if not values and not self.select_multiple and self.first_option is not None:
                values = [self.first_option]
            self.data[self.select] = self.data.get(self.select, []) + values
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.text)
            self.data.setdefault(self.textarea, []).append(text[1:] if text.startswith("\n") else text)
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)


def form_data(html: str) -> dict[str, Any]:
    """What pressing *Save* on this change page posts, with nothing changed."""
    reader = _FormReader()
    reader.feed(html)
    data: dict[str, Any] = {
        name: values if len(values) > 1 else values[0] for name, values in reader.data.items() if values
    }
    data["_save"] = "Save"
    return data
