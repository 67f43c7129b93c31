"""The support queue's services (accounts/support_desk.py) and the customer's side of a thread:
a staff reply reaches the customer by email (in their language) and as a notice, once however
often it is posted; internal notes never reach the customer; replies move the status; the
customer reads their own threads only, and replies from the help page."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.emails import delivery_email
from accounts.models import EmailDelivery, Notice, SupportMessage, SupportRequest, User
from accounts.notice_text import notice_text
from accounts.outbox import email_send
from accounts.support import support_request_create
from accounts.support_desk import (
    CUSTOMER_VISIBLE,
    EMAIL,
    NOTICE,
    support_customer_reply,
    support_note_add,
    support_reply_send,
    support_request_triage,
    support_threads_of,
)
from boomcard.rows import row_columns
from tests.factories import UserFactory, mobile_number

pytestmark = pytest.mark.django_db

MESSAGE = "My data stopped working in Bangkok this morning."
ANSWER = "We reset your data session. Turn flight mode on and off, please."
NOTE = "Checked the HLR: roaming barred by mistake. Do not tell the customer the vendor name."


def new_request(user: User | None = None, **contact: object) -> SupportRequest:
    return support_request_create(user=user, topic="data", message=MESSAGE, **contact)  # type: ignore[arg-type]


def test_a_reply_is_emailed_in_the_customers_language_and_noticed_in_the_site(customer, staff, mailoutbox):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    request = new_request(customer)

    sent = support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER, token=uuid.uuid4())

    assert sent.sent
    assert sent.reached_by == (EMAIL, NOTICE)
    delivery = EmailDelivery.objects.get(support_message=sent.message)
    assert delivery.to == customer.email
    email = delivery_email(delivery)
    assert request.reference in email.subject
    assert "我们对您的请求" in email.subject
    assert ANSWER in str(email.body)
    assert f"/support/{request.pk}/" in str(email.body)
    assert email_send(delivery_id=delivery.pk) == "sent"
    assert len(mailoutbox) == 1

    notice = Notice.objects.get(user=customer, kind=Notice.Kind.SUPPORT_REPLIED)
    assert notice.link == f"/support/{request.pk}/"
    assert not EmailDelivery.objects.filter(notice=notice).exists()  # the reply's own email carries it
    assert request.reference in notice_text(notice).body
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.WAITING


def test_the_same_reply_posted_twice_is_written_and_sent_once(customer, staff):
    request = new_request(customer)
    token = uuid.uuid4()
    first = support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER, token=token)
    again = support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER, token=token)
    assert (first.sent, again.sent) == (True, False)
    assert again.message == first.message
    assert SupportMessage.objects.filter(kind=SupportMessage.Kind.REPLY).count() == 1
    assert EmailDelivery.objects.filter(support_message__isnull=False).count() == 1
    assert Notice.objects.filter(kind=Notice.Kind.SUPPORT_REPLIED).count() == 1


def test_a_reply_to_someone_logged_out_with_an_email_is_emailed_only_in_the_language_they_wrote_in(staff, settings):
    with translation.override("zh-hans"):  # the help page was read in Chinese
        request = new_request(contact_email="guest@example.com")
    assert request.language == "zh-hans"
    sent = support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
    assert sent.reached_by == (EMAIL,)
    email = delivery_email(EmailDelivery.objects.get(support_message=sent.message))
    assert email.to == ["guest@example.com"]
    assert "我们对您的请求" in email.subject
    assert "直接回复这封邮件" in str(email.body)
    assert email.reply_to == [settings.SUPPORT_EMAIL]
    html = str(email.alternatives[0][0])
    assert ANSWER in html
    assert not Notice.objects.filter(kind=Notice.Kind.SUPPORT_REPLIED).exists()


def test_a_reply_to_someone_who_left_only_a_number_is_kept_and_reaches_no_one(staff):
    request = new_request(contact_phone=mobile_number())
    assert not request.reachable
    sent = support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
    assert sent.reached_by == ()
    assert not EmailDelivery.objects.filter(support_message__isnull=False).exists()
    assert not Notice.objects.filter(kind=Notice.Kind.SUPPORT_REPLIED).exists()


def test_a_customer_without_an_email_gets_the_reply_as_a_notice_only(staff):
    customer = UserFactory.create(email="")
    request = new_request(customer)
    sent = support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
    assert sent.reached_by == (NOTICE,)
    assert Notice.objects.filter(user=customer, kind=Notice.Kind.SUPPORT_REPLIED).exists()
    assert not EmailDelivery.objects.filter(support_message__isnull=False).exists()


def test_an_internal_note_reaches_no_one_and_never_shows_to_the_customer(client, customer, staff):
    request = new_request(customer)
    deliveries, notices = EmailDelivery.objects.count(), Notice.objects.count()
    token = uuid.uuid4()
    note, new = support_note_add(support_request_id=request.pk, staff=staff, body=NOTE, token=token)
    assert new
    assert note.kind == SupportMessage.Kind.NOTE
    assert support_note_add(support_request_id=request.pk, staff=staff, body=NOTE, token=token) == (note, False)
    assert (EmailDelivery.objects.count(), Notice.objects.count()) == (deliveries, notices)
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.NEW  # a note answers no one

    support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
    client.force_login(customer)
    for url in (reverse("accounts:support"), reverse("accounts:support_thread", args=[request.pk])):
        text = client.get(url).content.decode()
        assert ANSWER in text
        assert "HLR" not in text
        assert NOTE not in text


def test_triage_sets_status_and_assignee_and_says_what_changed(customer, staff):
    request = new_request(customer)
    changes = support_request_triage(support_request_id=request.pk, status="solved", assignee=staff)
    assert changes == {"status": ("new", "solved"), "assignee": ("", "ops")}
    assert support_request_triage(support_request_id=request.pk, status="solved", assignee=staff) == {}
    assert support_request_triage(support_request_id=request.pk, status="solved", assignee=None) == {
        "assignee": ("ops", "")
    }
    with pytest.raises(ValueError, match="unknown support status"):
        support_request_triage(support_request_id=request.pk, status="open", assignee=None)
    with pytest.raises(ValueError, match="only staff"):
        support_request_triage(support_request_id=request.pk, status="new", assignee=customer)


def test_a_reply_to_a_solved_request_leaves_it_solved(customer, staff):
    request = new_request(customer)
    support_request_triage(support_request_id=request.pk, status="solved", assignee=None)
    support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.SOLVED


def test_the_customers_reply_reopens_the_request_and_is_emailed_to_support(client, customer, staff, settings):
    settings.SUPPORT_EMAIL = "desk@boom.example"
    request = new_request(customer)
    support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
    support_request_triage(support_request_id=request.pk, status="solved", assignee=staff)
    client.force_login(customer)
    token = str(uuid.uuid4())
    url = reverse("accounts:support_thread", args=[request.pk])
    data = {"body": "Still no data after flight mode.", "token": token}
    first = client.post(url, data)
    second = client.post(url, data)
    assert first.status_code == second.status_code == 302
    reply = SupportMessage.objects.get(kind=SupportMessage.Kind.CUSTOMER)
    assert (reply.request, reply.author, reply.body) == (request, customer, "Still no data after flight mode.")
    request.refresh_from_db()
    assert request.status == SupportRequest.Status.NEW
    assert request.last_message_at == reply.created_at
    delivery = EmailDelivery.objects.get(support_message=reply)
    assert delivery.to == "desk@boom.example"
    email = delivery_email(delivery)
    assert "Still no data" in str(email.body)
    assert f"/admin/accounts/supportrequest/{request.pk}/change/" in str(email.body)
    assert email.reply_to == [customer.email]
    page = client.get(first["Location"]).content.decode()
    assert "Still no data after flight mode." in page
    assert ANSWER in page


def test_another_customers_request_is_not_found(client, customer):
    theirs = new_request(UserFactory.create())
    client.force_login(customer)
    url = reverse("accounts:support_thread", args=[theirs.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "Let me in", "token": str(uuid.uuid4())}).status_code == 404
    assert client.get(reverse("accounts:support_thread", args=[999999])).status_code == 404
    assert not SupportMessage.objects.exists()
    with pytest.raises(SupportRequest.DoesNotExist):
        support_customer_reply(user=customer, support_request_id=theirs.pk, body="Let me in")


def test_a_reply_with_another_customers_token_is_refused(client, customer):
    theirs = new_request(other := UserFactory.create())
    token = uuid.uuid4()
    support_customer_reply(user=other, support_request_id=theirs.pk, body="Any news?", token=token)
    mine = new_request(customer)
    client.force_login(customer)
    url = reverse("accounts:support_thread", args=[mine.pk])
    response = client.post(url, {"body": "Hello again", "token": str(token)})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert SupportMessage.objects.filter(request=mine).count() == 0


def test_the_thread_page_needs_a_log_in(client, customer):
    request = new_request(customer)
    response = client.get(reverse("accounts:support_thread", args=[request.pk]))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"body": ""},
        {"body": "x"},
        {"body": "y" * 5000},
        {"body": "Fine text here", "token": "not-a-uuid"},
        {"body": ["a", "b"], "token": ["1", "2"]},
    ],
)
def test_bad_input_on_the_thread_page_is_a_form_error_not_a_500(client, customer, data):
    request = new_request(customer)
    client.force_login(customer)
    response = client.post(reverse("accounts:support_thread", args=[request.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not SupportMessage.objects.exists()


def test_the_help_page_shows_each_thread_in_a_fixed_number_of_queries(client: Client, customer, staff):
    for _ in range(3):
        request = new_request(customer)
        support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
        support_customer_reply(user=customer, support_request_id=request.pk, body="Thanks!")
    with CaptureQueriesContext(connection) as queries:
        threads = list(support_threads_of(user=customer))
        assert [len(t.thread) for t in threads] == [2, 2, 2]  # type: ignore[attr-defined]
    assert len(queries) == 1
    client.force_login(customer)
    text = client.get(reverse("accounts:support")).content.decode()
    assert text.count(ANSWER) == 3
    assert "Boom support" in text


def test_the_threads_read_by_hand_are_the_orms(customer, staff):
    """support_threads_of's one query gives what the ORM's prefetch gave: the newest requests up
    to the limit, each with its visible messages oldest first (no internal note), and none of
    another customer's."""
    quiet = new_request(customer)
    for _ in range(3):
        request = new_request(customer)
        support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
        support_note_add(support_request_id=request.pk, staff=staff, body="Internal: called them")
        support_customer_reply(user=customer, support_request_id=request.pk, body="Thanks!")
    new_request(UserFactory.create())
    visible = SupportMessage.objects.filter(kind__in=CUSTOMER_VISIBLE).order_by("created_at", "id")
    orm = SupportRequest.objects.filter(user=customer).prefetch_related(
        Prefetch("messages", queryset=visible, to_attr="thread")
    )

    def shown(requests: Iterable[SupportRequest]) -> list[object]:
        return [(row_columns(item), [row_columns(message) for message in item.thread]) for item in requests]  # type: ignore[attr-defined]

    for limit in (2, 20):
        assert shown(support_threads_of(user=customer, limit=limit)) == shown(
            orm.order_by("-created_at", "-id")[:limit]
        )
    assert support_threads_of(user=customer)[-1].pk == quiet.pk
    assert support_threads_of(user=customer)[-1].thread == []  # type: ignore[attr-defined]


def test_opening_the_request_marks_its_reply_notices_read(client, customer, staff):
    request, other = new_request(customer), new_request(customer)
    support_reply_send(support_request_id=request.pk, staff=staff, body=ANSWER)
    support_reply_send(support_request_id=other.pk, staff=staff, body=ANSWER)
    client.force_login(customer)
    client.get(reverse("accounts:support_thread", args=[request.pk]))
    replied = Notice.objects.filter(kind=Notice.Kind.SUPPORT_REPLIED)
    assert replied.get(params__request=request.pk).read_at is not None
    assert replied.get(params__request=other.pk).read_at is None
