"""Goodwill: staff give a line more days or a data pack, for a reason, through the services a
purchase uses; the customer is told and the audit trail records it."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from accounts.emails import delivery_email
from accounts.models import EmailDelivery, Notice
from accounts.notice_text import notice_text
from plans.goodwill import GoodwillReason, line_goodwill_give
from plans.models import MB, Bucket, Line
from plans.services import bucket_grant, bucket_withdraw
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db


def give(line, staff, **kwargs):
    kwargs.setdefault("reason", GoodwillReason.OUTAGE)
    kwargs.setdefault("note", "Network down in Kowloon on 1 Dec")
    return line_goodwill_give(line=line, actor=staff, **kwargs)


def current_base_bucket(line):
    return Bucket.objects.filter(line=line, is_addon=False).order_by("-expires_at").first()


def test_days_move_the_line_expiry_and_its_current_bucket_together(line, staff):
    before = line.expires_at
    bucket_before = current_base_bucket(line)
    assert bucket_before.expires_at == before

    given = give(line, staff, days=7)

    line.refresh_from_db()
    bucket = current_base_bucket(line)
    assert line.expires_at == before + timedelta(days=7)
    assert bucket.pk == bucket_before.pk
    assert bucket.expires_at == line.expires_at
    assert (given.old_expiry, given.new_expiry) == (before, line.expires_at)
    # No allowance is added; what was left lasts as long as the line.
    assert (bucket.data_total, bucket.data_used) == (bucket_before.data_total, bucket_before.data_used)
    assert Bucket.objects.filter(line=line).count() == 1


def test_days_on_an_expired_line_count_from_now_as_a_renewal_does(customer, plans, staff):
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=40))
    line.refresh_from_db()
    assert line.is_expired()
    now = timezone.now()

    give(line, staff, days=3, now=now)

    line.refresh_from_db()
    assert line.expires_at == now + timedelta(days=3)
    assert current_base_bucket(line).expires_at == line.expires_at
    assert not line.is_expired()


def test_a_renewal_after_goodwill_stacks_on_the_extended_expiry(line, plans, staff):
    give(line, staff, days=5)
    line.refresh_from_db()
    extended = line.expires_at
    bucket_grant(line=line, plan=plans["basic-30"])
    line.refresh_from_db()
    assert line.expires_at == extended + timedelta(days=plans["basic-30"].validity_days)


def test_refunding_a_later_purchase_keeps_the_goodwill_days(line, plans, staff):
    give(line, staff, days=5)
    line.refresh_from_db()
    extended = line.expires_at
    renewal = bucket_grant(line=line, plan=plans["basic-30"])
    bucket_withdraw(bucket=renewal)
    line.refresh_from_db()
    assert line.expires_at == extended


def test_a_pack_is_granted_as_a_bought_one_and_leaves_the_expiry(line, plans, staff):
    before = line.expires_at
    pack = plans["topup-5"]

    given = give(line, staff, pack=pack, reason=GoodwillReason.SERVICE, note="Slow data all week")

    line.refresh_from_db()
    assert line.expires_at == before
    assert given.bucket.is_addon
    assert given.bucket.plan == pack
    assert given.bucket.data_total == pack.data_mb * MB
    assert given.bucket.expires_at == given.bucket.starts_at + timedelta(days=pack.validity_days)


def test_the_customer_gets_a_notice_and_an_email_in_their_language(line, staff):
    line.owner.language = "zh-hans"
    line.owner.save(update_fields=["language"])

    given = give(line, staff, days=7)

    notice = Notice.objects.get(user=line.owner, kind=Notice.Kind.GOODWILL)
    assert notice == given.notice
    assert notice.line_ref == line.pk
    assert notice.params["days"] == 7
    assert EmailDelivery.objects.filter(notice=notice, to=line.owner.email).exists()
    with translation.override("en"):
        assert "added 7 days" in notice_text(notice).body
    with translation.override("zh-hans"):
        text = notice_text(notice)
        assert "7 天" in text.body
        assert "客服" in text.title + text.body
    # The email is written in the customer's language, whatever the staff member's.
    email = delivery_email(EmailDelivery.objects.get(notice=notice))
    assert email.subject == "Boom: Boom 客服送您一份补偿"
    assert "7 天" in email.body


def test_a_pack_notice_names_the_pack(line, plans, staff):
    give(line, staff, pack=plans["topup-5"])
    notice = Notice.objects.get(user=line.owner, kind=Notice.Kind.GOODWILL)
    with translation.override("en"):
        assert plans["topup-5"].name_en in notice_text(notice).body
    with translation.override("zh-hans"):
        assert plans["topup-5"].name_zh in notice_text(notice).body


def test_each_goodwill_is_audited_with_its_reason_and_the_old_and_new_expiry(line, staff, plans):
    before = line.expires_at
    give(line, staff, days=7, reason=GoodwillReason.BILLING, note="Charged twice")
    give(line, staff, pack=plans["topup-5"], note="Sorry again")

    entries = list(LogEntry.objects.filter(object_pk=str(line.pk)).order_by("pk"))
    assert [e.additional_data["action"] for e in entries] == ["goodwill", "goodwill"]
    days, pack = entries
    assert days.actor == staff
    assert days.additional_data["reason"] == "Billing mistake: Charged twice"
    assert days.changes_dict["expires_at"] == [before.isoformat(), (before + timedelta(days=7)).isoformat()]
    assert pack.changes_dict["pack"] == ["", "topup-5"]
    assert Notice.objects.filter(kind=Notice.Kind.GOODWILL).count() == 2


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"days": 0}, "days_out_of_range"),
        ({"days": 91}, "days_out_of_range"),
        ({}, "days_or_pack"),
        ({"days": 7, "reason": "whim"}, "no_reason"),
        ({"days": 7, "note": "   "}, "no_note"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(line, staff, kwargs, code):
    before = line.expires_at
    with pytest.raises(ValidationError) as refused:
        give(line, staff, **kwargs)
    assert refused.value.code == code
    line.refresh_from_db()
    assert line.expires_at == before
    assert not Notice.objects.filter(kind=Notice.Kind.GOODWILL).exists()
    assert not LogEntry.objects.exists()


def test_a_base_plan_is_not_a_pack(line, plans, staff):
    with pytest.raises(ValidationError) as refused:
        give(line, staff, pack=plans["basic-30"])
    assert refused.value.code == "not_a_pack"


def test_a_line_without_an_owner_or_not_active_is_refused_clearly(plans, staff):
    unowned = LineFactory.create()
    with pytest.raises(ValidationError, match="no owner"):
        give(unowned, staff, days=7)
    suspended = LineFactory.create(owner=UserFactory.create(), status=Line.Status.SUSPENDED)
    bucket_grant(line=suspended, plan=plans["basic-10"])
    with pytest.raises(ValidationError, match="Suspended"):
        give(suspended, staff, days=7)
    assert not LogEntry.objects.exists()


def test_days_for_a_line_that_never_had_a_plan_are_refused_but_a_pack_is_given(plans, staff):
    line = LineFactory.create(owner=UserFactory.create())
    with pytest.raises(ValidationError) as refused:
        give(line, staff, days=7)
    assert refused.value.code == "no_plan"
    give(line, staff, pack=plans["topup-5"])
    assert line.buckets.count() == 1
