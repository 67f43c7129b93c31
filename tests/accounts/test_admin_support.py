"""The support queue in the admin (accounts/admin/support.py): new requests and those waiting
longest first, filters by status, assignee ("mine", unassigned) and topic, search by number
however it is written, by email, message and reference; a request's page shows the whole thread
and saves a reply, an internal note, the status and the assignee through the services, once per
page, in the audit trail; bad input is a form error, never a 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from auditlog.models import LogEntry  # type: ignore[import-untyped]
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, SupportMessage, SupportRequest, User
from accounts.support import support_request_create
from accounts.support_desk import support_request_triage
from boomcard.audit import ACTION_KEY
from tests.factories import UserFactory
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_supportrequest_changelist")
MESSAGE = "My eSIM QR code says it is no longer valid."


def change_url(request: SupportRequest) -> str:
    return reverse("admin:accounts_supportrequest_change", args=[request.pk])


def new_request(user: User | None = None, **fields: Any) -> SupportRequest:
    return support_request_create(user=user, topic=fields.pop("topic", "esim"), message=MESSAGE, **fields)


@pytest.fixture
def desk(client: Client, staff: User) -> Client:
    log_in_with_second_step(client, staff)
    return client


def listed(client: Client, query: str = "") -> list[int]:
    response = client.get(f"{CHANGELIST}{query}")
    assert response.status_code == 200
    return [obj.pk for obj in response.context["cl"].result_list]


def form_data(client: Client, request: SupportRequest, **changes: Any) -> dict[str, Any]:
    """The change page's form as shown (with its token), with ``changes``."""
    form = client.get(change_url(request)).context["adminform"].form
    data = {
        "status": form.initial["status"],
        "assignee": form.initial.get("assignee") or "",
        "reply": "",
        "note": "",
        "form_token": str(form.initial["form_token"]),
    }
    return {**data, **changes}


def test_the_queue_puts_new_requests_first_and_those_waiting_longest_first(desk, customer):
    now = timezone.now()
    old_new, fresh_new, waiting, solved = (new_request(customer) for _ in range(4))
    SupportRequest.objects.filter(pk=old_new.pk).update(last_message_at=now - timedelta(days=2))
    SupportRequest.objects.filter(pk=waiting.pk).update(status="waiting", last_message_at=now - timedelta(days=5))
    SupportRequest.objects.filter(pk=solved.pk).update(status="solved", last_message_at=now - timedelta(days=9))
    assert listed(desk) == [old_new.pk, fresh_new.pk, waiting.pk, solved.pk]


def test_the_queue_filters_by_status_assignee_and_topic(desk, customer, staff):
    colleague = UserFactory.create(username="lin", is_staff=True)
    mine, theirs, nobodys = new_request(customer), new_request(customer, topic="paying"), new_request(customer)
    support_request_triage(support_request_id=mine.pk, status="waiting", assignee=staff)
    support_request_triage(support_request_id=theirs.pk, status="new", assignee=colleague)
    assert listed(desk, "?assignee=mine") == [mine.pk]
    assert listed(desk, "?assignee=none") == [nobodys.pk]
    assert listed(desk, f"?assignee={colleague.pk}") == [theirs.pk]
    assert listed(desk, "?status__exact=waiting") == [mine.pk]
    assert listed(desk, "?topic__exact=paying") == [theirs.pk]
    text = desk.get(CHANGELIST).content.decode()
    assert "Assigned to me" in text
    assert "Unassigned" in text


@pytest.mark.parametrize("written", ["138-0013-8000", "0086 138 0013 8000", "+86 13800138000", "13800138000"])
def test_the_queue_finds_a_customer_by_number_however_it_is_written(desk, customer, written):
    # The customer fixture's number is +86 138 0013 8000.
    theirs = new_request(customer)
    guest = new_request(contact_phone=customer.phone)
    new_request(UserFactory.create())
    assert sorted(listed(desk, f"?q={written}")) == sorted([theirs.pk, guest.pk])


def test_the_queue_finds_by_email_message_and_reference(desk, customer):
    guest = new_request(contact_email="lost@example.com")
    mine = new_request(customer)
    assert listed(desk, "?q=lost@example") == [guest.pk]
    assert listed(desk, f"?q={customer.email}") == [mine.pk]
    assert sorted(listed(desk, "?q=no longer valid")) == sorted([guest.pk, mine.pk])
    assert listed(desk, f"?q={mine.reference}") == [mine.pk]
    assert listed(desk, "?q=99999999999999999999999") == []  # no 500 for a number too long for an id


def test_the_change_page_shows_the_whole_thread_with_notes_marked_internal(desk, customer):
    request = new_request(customer)
    desk.post(change_url(request), form_data(desk, request, note="Known outage in Bangkok."))
    desk.post(change_url(request), form_data(desk, request, reply="Please restart your phone."))
    text = desk.get(change_url(request)).content.decode()
    for shown in (
        MESSAGE,
        "Known outage in Bangkok.",
        "Please restart your phone.",
        "Internal note (only staff see it)",
    ):
        assert shown in text
    assert 'name="reply"' in text
    assert 'name="note"' in text


def test_saving_a_reply_note_status_and_assignee_goes_through_the_services_once_and_is_audited(desk, customer, staff):
    request = new_request(customer)
    data = form_data(
        desk, request, reply="We have reset your eSIM profile.", note="Reissued at the SM-DP+.", assignee=staff.pk
    )
    first = desk.post(change_url(request), data)
    second = desk.post(change_url(request), data)  # the same page, saved again
    assert first.status_code == second.status_code == 302

    request.refresh_from_db()
    assert (request.status, request.assignee) == (SupportRequest.Status.WAITING, staff)
    assert SupportMessage.objects.filter(kind="reply").count() == 1
    assert SupportMessage.objects.filter(kind="note").count() == 1
    reply = SupportMessage.objects.get(kind="reply")
    assert (reply.author, reply.author_name) == (staff, "ops")
    assert EmailDelivery.objects.filter(support_message=reply, to=customer.email).count() == 1
    assert Notice.objects.filter(user=customer, kind=Notice.Kind.SUPPORT_REPLIED).count() == 1

    actions = [
        entry.additional_data[ACTION_KEY]
        for entry in LogEntry.objects.filter(object_pk=str(request.pk)).order_by("pk")
        if entry.additional_data
    ]
    assert actions == ["support_triage", "support_note", "support_reply"]
    triage = LogEntry.objects.get(additional_data__action="support_triage")
    assert triage.actor == staff
    assert triage.changes_dict["assignee"] == ["", "ops"]

    shown = [str(m) for m in desk.get(first["Location"]).context["messages"]]
    assert any("by email and as a notice" in text for text in shown)
    again = [str(m) for m in second.wsgi_request._messages]
    assert any("already saved" in text for text in again)


def test_a_reply_to_someone_who_left_only_a_number_tells_staff_to_call(desk):
    request = new_request(contact_phone=UserFactory.build().phone)
    page = desk.get(change_url(request)).content.decode()
    assert "Only a mobile number" in page
    response = desk.post(change_url(request), form_data(desk, request, reply="We will call you."), follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any("nothing was sent" in text and "Call or text" in text for text in shown)
    assert not EmailDelivery.objects.filter(support_message__isnull=False).exists()


def test_staff_read_the_queue_in_chinese(desk, staff, customer):
    request = new_request(customer)
    staff.language = "zh-hans"
    staff.save(update_fields=["language"])
    desk.cookies.load({"django_language": "zh-hans"})
    text = desk.get(change_url(request), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for chinese in ("回复客户", "内部备注", "处理人"):
        assert chinese in text


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "open"},
        {"status": ""},
        {"assignee": "999999"},
        {"assignee": "not-a-number"},
        {"reply": "x" * 4001},
        {"note": "y" * 4001},
        {"form_token": "not-a-uuid"},
    ],
)
def test_bad_input_on_the_change_page_is_a_form_error_not_a_500(desk, customer, bad):
    request = new_request(customer)
    response = desk.post(change_url(request), {**form_data(desk, request, reply="Hello there"), **bad})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not SupportMessage.objects.exists()


def test_a_customer_cannot_be_made_the_assignee(desk, customer):
    request = new_request(customer)
    response = desk.post(change_url(request), form_data(desk, request, assignee=customer.pk))
    assert response.status_code == 200
    assert "assignee" in response.context["adminform"].form.errors


def test_requests_are_not_added_in_the_admin_and_unknown_ones_are_not_a_500(desk):
    assert desk.get(reverse("admin:accounts_supportrequest_add")).status_code == 403
    missing = desk.get(reverse("admin:accounts_supportrequest_change", args=[424242]))
    assert missing.status_code in (302, 404)
    assert desk.get(f"{CHANGELIST}?status__exact=bogus&assignee=bogus&q=%00").status_code in (200, 302)


def test_the_queue_needs_the_second_step(client, staff):
    client.force_login(staff)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
