"""The audit trail: staff changes made in the admin (inlines and deletes included) are recorded
with their old and new values; each object's History page shows them; the global list filters by
staff member, kind of object, action and date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import SmsCode, User
from boomcard.audit import audit_action, audit_change
from plans.models import DailyUsage, Line, Plan
from tests.admin_pages import form_data
from tests.factories import UserFactory
from tests.security.helpers import log_in_with_second_step


@pytest.fixture
def desk(client: Client, staff: User) -> Client:
    log_in_with_second_step(client, staff)
    return client


def _save(client: Client, url: str, **changes: Any) -> Any:
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {**form_data(page.content.decode()), **changes})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def _text(html: bytes) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode()))
    return text.replace(" : ", ": ")


def test_a_change_in_the_admin_is_recorded_with_old_and_new_values(
    desk: Client, staff: User, plans: dict[str, Plan]
) -> None:
    plan = plans["basic-30"]
    _save(desk, reverse("admin:plans_plan_change", args=[plan.pk]), validity_days="45")

    entry = LogEntry.objects.get_for_object(plan).get()
    assert entry.actor == staff
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes_dict == {"validity_days": ["30", "45"]}


def test_a_change_in_an_inline_is_recorded(desk: Client, staff: User, plans: dict[str, Plan]) -> None:
    plan = plans["basic-30"]
    price = plan.prices.get(currency="CNY")
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    fields = form_data(desk.get(url).content.decode())
    row = next(
        name.rsplit("-", 1)[0] for name, value in fields.items() if name.endswith("-id") and value == str(price.pk)
    )
    raised = price.amount_minor + 100
    _save(desk, url, **{f"{row}-amount_minor": f"{raised / 100:.2f}"})  # typed in yuan

    entry = LogEntry.objects.get_for_object(price).get()
    assert entry.actor == staff
    assert entry.changes_dict == {"amount_minor": [str(price.amount_minor), str(raised)]}


def test_a_delete_in_the_admin_is_recorded(desk: Client, staff: User, line: Line) -> None:
    usage = DailyUsage.objects.create(line=line, day=timezone.now().date(), data=2048)
    response = desk.post(reverse("admin:plans_dailyusage_delete", args=[usage.pk]), {"post": "yes"})
    assert response.status_code == 302

    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(DailyUsage), object_pk=str(usage.pk))
    assert entry.action == LogEntry.Action.DELETE
    assert entry.actor == staff
    assert entry.changes_dict["data"] == ["2048", None]


def test_the_history_page_shows_who_changed_what_from_which_value_to_which(
    desk: Client, staff: User, plans: dict[str, Plan]
) -> None:
    plan = plans["basic-30"]
    _save(desk, reverse("admin:plans_plan_change", args=[plan.pk]), validity_days="45")
    audit_action(actor=staff, obj=plan, action="goodwill", changes={"expiry": ("1 May", "8 May")}, reason="outage")

    page = desk.get(reverse("admin:plans_plan_history", args=[plan.pk]))

    assert page.status_code == 200
    text = _text(page.content)
    assert "Validity (days): 30 → 45" in text
    assert "Expiry: 1 May → 8 May" in text
    assert "goodwill" in text
    assert "outage" in text
    assert "ops" in text


def _listed(client: Client, query: str = "") -> str:
    page = client.get(reverse("admin:auditlog_logentry_changelist") + query)
    assert page.status_code == 200
    return _text(page.content)


def test_the_global_list_filters_by_staff_member_kind_action_and_date(
    desk: Client, staff: User, plans: dict[str, Plan], line: Line
) -> None:
    other = UserFactory.create(username="lin", is_staff=True)
    plan = plans["basic-30"]
    _save(desk, reverse("admin:plans_plan_change", args=[plan.pk]), validity_days="45")
    audit_action(actor=other, obj=line, action="goodwill", changes={"expires_at": ("1 May", "8 May")}, reason="outage")
    audit_action(actor=other, obj=line, action="unlock", reason="called us")

    everything = _listed(desk)
    assert "Validity (days): 30 → 45" in everything
    assert "outage" in everything
    assert "called us" in everything

    mine = _listed(desk, f"?actor={staff.pk}")
    assert "30 → 45" in mine
    assert "outage" not in mine
    theirs = _listed(desk, f"?actor={other.pk}")
    assert "30 → 45" not in theirs
    assert "outage" in theirs

    lines = _listed(desk, f"?content_type={ContentType.objects.get_for_model(Line).pk}")
    assert "outage" in lines
    assert "30 → 45" not in lines

    goodwill = _listed(desk, "?action=goodwill")
    assert "outage" in goodwill
    assert "called us" not in goodwill
    assert "30 → 45" not in goodwill
    changed = _listed(desk, "?action=changed")
    assert "30 → 45" in changed
    assert "outage" not in changed

    # As the side bar's "Today" links: from midnight, in the admin's time zone.
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    assert "30 → 45" in _listed(desk, "?" + urlencode({"timestamp__gte": str(midnight)}))
    assert "30 → 45" not in _listed(desk, "?" + urlencode({"timestamp__lt": str(midnight)}))

    one = _listed(desk, f"?content_type={ContentType.objects.get_for_model(Plan).pk}&object={plan.pk}")
    assert "30 → 45" in one


def test_the_global_list_names_the_filters_and_actions_in_chinese(desk: Client, staff: User, line: Line) -> None:
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    audit_action(actor=staff, obj=line, action="refund", reason="重复付款")
    page = desk.get(reverse("admin:auditlog_logentry_changelist"), headers={"Accept-Language": "zh-hans"})
    text = _text(page.content)
    for label in ("员工", "对象类型", "操作", "退款", "重复付款"):
        assert label in text, label


def test_staff_cannot_change_or_delete_the_trail(desk: Client, staff: User, line: Line) -> None:
    entry = audit_action(actor=staff, obj=line, action="unlock", reason="called us")
    assert desk.post(reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()
    assert desk.get(reverse("admin:auditlog_logentry_change", args=[entry.pk])).status_code == 200


def test_a_change_of_a_groups_permissions_is_recorded_by_name(desk: Client, staff: User) -> None:
    group = Group.objects.create(name="Support desk")
    refund = Permission.objects.get(codename="view_refund")
    _save(desk, reverse("admin:auth_group_change", args=[group.pk]), permissions=[str(refund.pk)])

    entry = LogEntry.objects.get_for_object(group).get()
    assert entry.actor == staff
    assert entry.changes_dict == {"permissions": [None, str(refund)]}


def test_a_delete_of_an_object_with_dates_is_recorded(desk: Client, staff: User, customer: User) -> None:
    code = SmsCode.objects.create(
        phone=customer.phone,
        purpose=SmsCode.Purpose.ADD_LINE,
        user=customer,
        code_hash="f" * 64,
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    response = desk.post(reverse("admin:accounts_smscode_delete", args=[code.pk]), {"post": "yes"})
    assert response.status_code == 302

    entry = LogEntry.objects.get(content_type=ContentType.objects.get_for_model(SmsCode), object_pk=str(code.pk))
    assert entry.action == LogEntry.Action.DELETE
    assert entry.changes_dict["expires_at"][0].startswith(f"{code.expires_at.astimezone(UTC):%Y-%m-%d %H:%M}")
    assert entry.changes_dict["code_hash"] == ["***", "***"]


def test_a_line_expiry_change_is_recorded_old_and_new(staff: User, line: Line) -> None:
    old = Line.objects.get(pk=line.pk)
    assert old.expires_at is not None
    line.expires_at = new_expiry = old.expires_at + timedelta(days=7)
    entry = audit_change(actor=staff, old=old, new=line)

    assert entry is not None
    before, after = entry.changes_dict["expires_at"]
    assert before.startswith(f"{old.expires_at.astimezone(UTC):%Y-%m-%d}")
    assert after.startswith(f"{new_expiry.astimezone(UTC):%Y-%m-%d}")


def test_dates_read_in_the_staff_members_time_zone_on_the_history_page(
    desk: Client, staff: User, customer: User
) -> None:
    staff.time_zone = "Asia/Shanghai"
    staff.save(update_fields=["time_zone"])
    code = SmsCode.objects.create(
        phone=customer.phone, purpose=SmsCode.Purpose.ADD_LINE, code_hash="e" * 64, expires_at=timezone.now()
    )
    old = SmsCode.objects.get(pk=code.pk)
    code.expires_at = datetime(2027, 1, 10, 4, 30, tzinfo=UTC)
    audit_change(actor=staff, old=old, new=code)

    page = desk.get(reverse("admin:accounts_smscode_history", args=[code.pk]))

    assert "Jan. 10, 2027, 12:30 p.m." in _text(page.content)
