"""Lines in the admin: goodwill from a line's page, the CSV import page, what staff may edit, the
messages each constraint gives, and buckets in GB, minutes and SMS."""

from datetime import timedelta

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Notice
from plans.models import Bucket, Line
from tests.factories import LineFactory, UserFactory, iccid
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db
HEADER = "msisdn,iccid,eid,smdp_address,matching_id\n"


@pytest.fixture
def desk(client: Client, staff) -> Client:
    log_in_with_second_step(client, staff)
    return client


def goodwill_url(line: Line) -> str:
    return reverse("admin:plans_line_goodwill", args=[line.pk])


def change_url(line: Line) -> str:
    return reverse("admin:plans_line_change", args=[line.pk])


# --- goodwill ---------------------------------------------------------------------------------


def test_the_line_page_has_a_goodwill_button_for_an_owned_line_only(desk, line):
    assert goodwill_url(line) in desk.get(change_url(line)).content.decode()
    unowned = LineFactory.create()
    assert goodwill_url(unowned) not in desk.get(change_url(unowned)).content.decode()


def test_staff_give_seven_days_and_see_the_new_expiry(desk, line):
    before = line.expires_at
    page = desk.get(goodwill_url(line))
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()

    answer = desk.post(
        goodwill_url(line), {"kind": "days", "days": "7", "reason": "outage", "note": "Tower down"}, follow=True
    )

    line.refresh_from_db()
    assert line.expires_at == before + timedelta(days=7)
    assert answer.redirect_chain[-1][0] == change_url(line)
    assert "Gave 7 days to" in answer.content.decode()
    assert Notice.objects.filter(user=line.owner, kind=Notice.Kind.GOODWILL).count() == 1
    entry = LogEntry.objects.get(additional_data__action="goodwill")
    assert entry.additional_data["reason"] == "Network problem: Tower down"


def test_staff_give_a_data_pack(desk, line, plans):
    answer = desk.post(
        goodwill_url(line),
        {"kind": "pack", "pack": plans["topup-5"].pk, "reason": "service", "note": "Slow week"},
        follow=True,
    )
    assert answer.status_code == 200
    assert line.buckets.filter(plan=plans["topup-5"], is_addon=True).count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "days", "days": "0", "reason": "outage", "note": "x"},
        {"kind": "days", "days": "91", "reason": "outage", "note": "x"},
        {"kind": "days", "days": "seven", "reason": "outage", "note": "x"},
        {"kind": "days", "days": "", "reason": "outage", "note": "x"},
        {"kind": "pack", "pack": "", "reason": "outage", "note": "x"},
        {"kind": "pack", "pack": "999999", "reason": "outage", "note": "x"},
        {"kind": "days", "days": "7", "reason": "whim", "note": "x"},
        {"kind": "days", "days": "7", "reason": "outage", "note": ""},
        {},
    ],
)
def test_bad_goodwill_input_is_a_form_error_and_changes_nothing(desk, line, data):
    before = line.expires_at
    answer = desk.post(goodwill_url(line), data)
    assert answer.status_code == 200
    assert 'class="errorlist' in answer.content.decode()
    line.refresh_from_db()
    assert line.expires_at == before
    assert not LogEntry.objects.filter(additional_data__action="goodwill").exists()


def test_a_base_plan_is_not_offered_as_a_pack(desk, line, plans):
    answer = desk.post(
        goodwill_url(line), {"kind": "pack", "pack": plans["basic-30"].pk, "reason": "outage", "note": "x"}
    )
    assert answer.status_code == 200
    assert line.buckets.count() == 1


def test_goodwill_for_a_line_without_an_owner_is_a_clear_message(desk):
    unowned = LineFactory.create()
    answer = desk.get(goodwill_url(unowned), follow=True)
    assert answer.status_code == 200
    assert "no owner" in answer.content.decode()
    answer = desk.post(goodwill_url(unowned), {"kind": "days", "days": "7", "reason": "outage", "note": "x"})
    assert answer.status_code == 302
    assert not LogEntry.objects.exists()


def test_goodwill_for_a_suspended_line_is_a_clear_message_in_chinese(desk, staff, line):
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    Line.objects.filter(pk=line.pk).update(status=Line.Status.SUSPENDED)
    answer = desk.get(goodwill_url(line), follow=True)
    assert "只能为正常使用中的号码提供补偿" in answer.content.decode()


def test_goodwill_for_no_such_line_is_a_404(desk):
    assert desk.get(reverse("admin:plans_line_goodwill", args=[999999])).status_code == 404


def test_goodwill_needs_the_change_line_permission(client, line):
    viewer = UserFactory.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_line"))
    log_in_with_second_step(client, viewer)
    assert client.get(goodwill_url(line)).status_code == 403
    data = {"kind": "days", "days": "7", "reason": "outage", "note": "x"}
    assert client.post(goodwill_url(line), data).status_code == 403
    assert goodwill_url(line) not in client.get(change_url(line)).content.decode()


def test_goodwill_needs_the_csrf_token(staff, line):
    strict = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    log_in_with_second_step(strict, staff)
    data = {"kind": "days", "days": "7", "reason": "outage", "note": "x"}
    assert strict.post(goodwill_url(line), data).status_code == 403


# --- the import page --------------------------------------------------------------------------

IMPORT_URL = "/admin/plans/line/import/"


def csv_file(body: str, name: str = "lines.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + body).encode(), content_type="text/csv")


def one_bad_row() -> str:
    return (
        f"+85251240101,{iccid(101)},,smdp.boom.example,M-101\n"
        f"+85251240102,{iccid(102)},123,smdp.boom.example,M-102\n"
        f"+85251240103,{iccid(103)},,smdp.boom.example,M-103\n"
    )


def test_the_line_list_links_to_the_import_page(desk):
    assert reverse("admin:plans_line_import") == IMPORT_URL
    assert IMPORT_URL in desk.get(reverse("admin:plans_line_changelist")).content.decode()


def test_import_previews_then_saves_the_good_rows_on_confirmation(desk):
    preview = desk.post(IMPORT_URL, {"file": csv_file(one_bad_row())})
    text = preview.content.decode()
    assert preview.status_code == 200
    assert "2 created, 0 updated, 0 unchanged, 1 rejected" in text
    assert "eid: An EID is 32 digits." in text
    assert Line.objects.count() == 0  # a preview saves nothing

    signed = preview.context["signed"]
    done = desk.post(IMPORT_URL, {"text": signed, "confirm": "1"})
    assert done.status_code == 200
    assert "Lines imported: 2 created" in done.content.decode()
    assert set(Line.objects.values_list("iccid", flat=True)) == {iccid(101), iccid(103)}
    assert not Line.objects.exclude(status=Line.Status.AVAILABLE).exists()


def test_a_clean_file_goes_back_to_the_list_once_imported(desk):
    preview = desk.post(IMPORT_URL, {"file": csv_file(f"+85251240104,{iccid(104)},,smdp.boom.example,M-104\n")})
    done = desk.post(IMPORT_URL, {"text": preview.context["signed"], "confirm": "1"})
    assert done.status_code == 302
    assert Line.objects.filter(iccid=iccid(104)).exists()


def test_the_report_is_in_the_staff_members_language(desk, staff):
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    text = desk.post(IMPORT_URL, {"file": csv_file(one_bad_row())}).content.decode()
    assert "新建 2 条，更新 0 条，未变 0 条，拒绝 1 条" in text
    assert "文件中的行号" in text


def test_a_tampered_or_stale_preview_imports_nothing(desk):
    answer = desk.post(IMPORT_URL, {"text": "forged", "confirm": "1"})
    assert answer.status_code == 200
    assert "Upload the file again" in answer.content.decode()
    assert Line.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"number,iccid\n+85251240105,1\n", "The CSV header lacks: msisdn"),
        (HEADER.encode("utf-16"), "not UTF-8 text"),
        (b"", "The submitted file is empty."),
    ],
)
def test_a_file_that_cannot_be_read_is_a_form_error(desk, content, message):
    answer = desk.post(IMPORT_URL, {"file": SimpleUploadedFile("x.csv", content)})
    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert Line.objects.count() == 0


def test_import_needs_the_add_and_change_line_permissions(client):
    viewer = UserFactory.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_line"))
    log_in_with_second_step(client, viewer)
    assert client.get(IMPORT_URL).status_code == 403
    assert IMPORT_URL not in client.get(reverse("admin:plans_line_changelist")).content.decode()


# --- editing lines and buckets ----------------------------------------------------------------


def line_form(line: Line, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "msisdn": str(line.msisdn),
        "iccid": line.iccid,
        "eid": line.eid,
        "smdp_address": line.smdp_address,
        "matching_id": line.matching_id,
        "status": line.status,
        "nickname": line.nickname,
        "owner": line.owner_id or "",
        "auto_renew": "on" if line.auto_renew else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != "" or k in ("owner", "eid", "nickname")}


def test_number_and_iccid_are_read_only_once_a_line_has_an_owner(desk, line):
    page = desk.get(change_url(line)).content.decode()
    assert 'name="msisdn"' not in page
    assert 'name="iccid"' not in page
    desk.post(change_url(line), line_form(line, msisdn="+85251249999", iccid=iccid(199), nickname="Mum"))
    line.refresh_from_db()
    assert str(line.msisdn) != "+85251249999"
    assert line.iccid != iccid(199)
    assert line.nickname == "Mum"


def test_an_unowned_line_can_still_be_corrected(desk):
    unowned = LineFactory.create()
    page = desk.get(change_url(unowned)).content.decode()
    assert 'name="msisdn"' in page
    assert 'name="iccid"' in page
    answer = desk.post(change_url(unowned), line_form(unowned, matching_id="FIXED"))
    assert answer.status_code == 302
    unowned.refresh_from_db()
    assert unowned.matching_id == "FIXED"
    # The change is in the audit trail with its old and new value.
    assert LogEntry.objects.get(object_pk=str(unowned.pk)).changes_dict["matching_id"][1] == "FIXED"


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "a line without one is Not yet assigned"), ("zh-hans", "没有所属客户的号码状态须为“未分配”")],
)
def test_an_active_line_without_an_owner_is_a_clear_form_error(desk, staff, language, message):
    staff.language = language
    staff.save(update_fields=["language"])
    unowned = LineFactory.create()
    answer = desk.post(change_url(unowned), line_form(unowned, status=Line.Status.ACTIVE))
    assert answer.status_code == 200
    text = answer.content.decode()
    assert message in text
    assert "plans_line_owned_unless_available" not in text
    unowned.refresh_from_db()
    assert unowned.status == Line.Status.AVAILABLE


def test_a_bucket_is_shown_but_not_edited_by_hand(desk, line):
    """A bucket changes only through the services (a purchase, goodwill, a refund), which keep the
    line's expiry in step: its page is read-only and a post to it is refused."""
    bucket = line.buckets.get()
    url = reverse("admin:plans_bucket_change", args=[bucket.pk])
    page = desk.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    answer = desk.post(url, {"line": line.pk, "plan": bucket.plan_id, "data_total": 10, "data_used": 11})
    assert answer.status_code == 403
    bucket.refresh_from_db()
    assert bucket.data_used != 11


def test_buckets_are_listed_by_number_in_gb_minutes_and_sms(desk, line):
    Bucket.objects.filter(line=line).update(data_used=512 * 1024 * 1024, voice_used=600, sms_used=3)
    line.nickname = "Mum's phone"
    line.save(update_fields=["nickname"])
    text = desk.get(reverse("admin:plans_bucket_changelist")).content.decode()
    assert "+852 5" in text
    assert "Mum&#x27;s phone" not in text
    assert "512 MB of" in text
    assert " GB" in text
    assert "10 min of" in text
    assert "3 of" in text
    assert "SMS" in text


def test_buckets_are_not_added_by_hand(desk):
    assert desk.get(reverse("admin:plans_bucket_add")).status_code == 403


def test_one_day_reads_as_one_day(desk, line):
    answer = desk.post(goodwill_url(line), {"kind": "days", "days": "1", "reason": "other", "note": "x"}, follow=True)
    assert "Gave 1 day to" in answer.content.decode()


def test_the_same_form_sent_twice_gives_once(desk, line):
    before = line.expires_at
    token = desk.get(goodwill_url(line)).context["form"]["attempt"].value()
    assert token
    data = {"kind": "days", "days": "7", "reason": "outage", "note": "x", "attempt": token}
    desk.post(goodwill_url(line), data)
    again = desk.post(goodwill_url(line), data, follow=True)
    assert "already given" in again.content.decode()
    line.refresh_from_db()
    assert line.expires_at == before + timedelta(days=7)
    assert Notice.objects.filter(kind=Notice.Kind.GOODWILL).count() == 1
