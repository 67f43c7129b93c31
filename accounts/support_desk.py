"""The support queue: staff reply to a request, leave internal notes, assign it and set its
status; the customer reads the thread and replies from the help page.

A staff reply reaches the writer through the outbox, in the same transaction as the message: an
email in their language (to the account's address, or the one a logged-out writer left) and, for
a customer with an account, a notice in the site. Someone logged out who left only a mobile
number cannot be reached that way: the reply is kept, and staff are told to call or text.
A customer's reply is emailed to ``SUPPORT_EMAIL`` and makes the request new again.

Every form posts its own token: the same form posted twice (a double press, a retry) finds the
message it already wrote and writes or sends nothing more. Nothing here talks to a mail server:
the outbox sends after commit, so no row stays locked while it does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, SupportMessage, SupportRequest, User
from accounts.notice_keys import support_replied_key
from accounts.outbox import email_deliver_on_commit, notice_create
from accounts.services.notices import notice_mark_read
from boomcard.rows import Selected, table, with_related

# The kinds of message a customer sees in their thread: never staff's internal notes.
CUSTOMER_VISIBLE = [SupportMessage.Kind.CUSTOMER, SupportMessage.Kind.REPLY]

EMAIL = "email"
NOTICE = "notice"


@dataclass(frozen=True)
class SupportReply:
    """A staff reply and how it reached the writer (``EMAIL``, ``NOTICE``; neither when only a
    mobile number is known). ``sent`` is False when the same form had already sent it."""

    message: SupportMessage
    reached_by: tuple[str, ...] = field(default=())
    sent: bool = True


def staff_name(user: User | None) -> str:
    """How staff are named in a thread and the audit trail: their staff log-in name."""
    if user is None:
        return ""
    return user.username or str(user.phone)


def _locked(support_request_id: int) -> SupportRequest:
    return SupportRequest.objects.select_for_update(of=("self",)).select_related("user").get(pk=support_request_id)


def _already(*, token: uuid.UUID | None, kind: str) -> SupportMessage | None:
    if token is None:
        return None
    return SupportMessage.objects.filter(token=token, kind=kind).select_related("request").first()


def support_form_saved(*, token: uuid.UUID | None) -> bool:
    """Whether a staff form with ``token`` has already written its reply or note: posted again,
    it must change nothing (not even put back the status it showed)."""
    return token is not None and SupportMessage.objects.filter(token=token).exists()


def support_reply_send(
    *, support_request_id: int, staff: User, body: str, token: uuid.UUID | None = None
) -> SupportReply:
    """Write staff's reply and, in the same transaction, its email and notice to the writer
    (accounts.outbox). A request still new now waits on the customer. The same ``token`` again
    returns the reply already written, and sends nothing."""
    if (done := _already(token=token, kind=SupportMessage.Kind.REPLY)) is not None:
        return SupportReply(message=done, reached_by=_reached_by(done.request), sent=False)
    try:
        with transaction.atomic():
            request = _locked(support_request_id)
            now = timezone.now()
            message = SupportMessage.objects.create(
                request=request,
                kind=SupportMessage.Kind.REPLY,
                author=staff,
                author_name=staff_name(staff),
                body=body,
                token=token,
                created_at=now,
            )
            request.last_message_at = now
            fields = ["last_message_at"]
            if request.status == SupportRequest.Status.NEW:
                request.status = SupportRequest.Status.WAITING
                fields.append("status")
            request.save(update_fields=fields)
            reached_by = _reply_deliver(request, message)
    except IntegrityError:  # the same form, posted twice at once: the other post wrote it
        if (done := _already(token=token, kind=SupportMessage.Kind.REPLY)) is None:
            raise
        return SupportReply(message=done, reached_by=_reached_by(done.request), sent=False)
    return SupportReply(message=message, reached_by=reached_by)


def _reached_by(request: SupportRequest) -> tuple[str, ...]:
    user = request.user
    if user is not None:
        return (EMAIL, NOTICE) if user.email else (NOTICE,)
    return (EMAIL,) if request.contact_email else ()


def _reply_deliver(request: SupportRequest, message: SupportMessage) -> tuple[str, ...]:
    """The reply's email (in the writer's language: accounts.emails) and notice, in the
    caller's transaction."""
    reached_by = _reached_by(request)
    if EMAIL in reached_by:
        address = request.user.email if request.user is not None else request.contact_email
        delivery = EmailDelivery.objects.create(support_message=message, to=address)
        email_deliver_on_commit(delivery.pk)
    if request.user is not None:
        notice_create(
            user=request.user,
            kind=Notice.Kind.SUPPORT_REPLIED,
            key=support_replied_key(support_message_id=message.pk),
            params={"ref": request.reference, "request": request.pk},
            link=f"/support/{request.pk}/",
            email=False,  # the reply's own email carries the answer
        )
    return reached_by


def support_note_add(
    *, support_request_id: int, staff: User, body: str, token: uuid.UUID | None = None
) -> tuple[SupportMessage, bool]:
    """Write an internal note, which only staff ever see; (the note, whether it is new). The
    same ``token`` again returns the note already written."""
    if (done := _already(token=token, kind=SupportMessage.Kind.NOTE)) is not None:
        return done, False
    try:
        with transaction.atomic():
            request = _locked(support_request_id)
            note = SupportMessage.objects.create(
                request=request,
                kind=SupportMessage.Kind.NOTE,
                author=staff,
                author_name=staff_name(staff),
                body=body,
                token=token,
            )
    except IntegrityError:
        if (done := _already(token=token, kind=SupportMessage.Kind.NOTE)) is None:
            raise
        return done, False
    return note, True


def support_request_triage(
    *, support_request_id: int, status: str, assignee: User | None
) -> dict[str, tuple[str, str]]:
    """Set the request's status and assignee (a staff member, or nobody); what changed, as
    (old, new) for the audit trail. Setting them as they are changes nothing."""
    if status not in SupportRequest.Status.values:
        raise ValueError(f"unknown support status {status!r}")
    if assignee is not None and not assignee.is_staff:
        raise ValueError("only staff can be assigned a support request")
    with transaction.atomic():
        request = _locked(support_request_id)
        old_assignee = staff_name(request.assignee)
        changes: dict[str, tuple[str, str]] = {}
        if request.status != status:
            changes["status"] = (request.status, status)
            request.status = status
        if request.assignee_id != (assignee.pk if assignee is not None else None):
            changes["assignee"] = (old_assignee, staff_name(assignee))
            request.assignee = assignee
        if changes:
            request.save(update_fields=list(changes))
    return changes


def support_customer_reply(
    *, user: User, support_request_id: int, body: str, token: uuid.UUID | None = None
) -> SupportMessage:
    """The customer's reply to their own request (another's is ``SupportRequest.DoesNotExist``),
    emailed to support in the same transaction; the request is new again, solved or not. The
    same ``token`` again returns the reply already written."""
    if (done := _already(token=token, kind=SupportMessage.Kind.CUSTOMER)) is not None:
        if done.request.user_id != user.pk:
            raise SupportRequest.DoesNotExist
        return done
    try:
        with transaction.atomic():
            request = SupportRequest.objects.select_for_update(of=("self",)).get(pk=support_request_id, user=user)
            now = timezone.now()
            message = SupportMessage.objects.create(
                request=request,
                kind=SupportMessage.Kind.CUSTOMER,
                author=user,
                body=body,
                token=token,
                created_at=now,
            )
            request.status = SupportRequest.Status.NEW
            request.last_message_at = now
            request.save(update_fields=["status", "last_message_at"])
            delivery = EmailDelivery.objects.create(support_message=message, to=settings.SUPPORT_EMAIL)
            email_deliver_on_commit(delivery.pk)
    except IntegrityError:
        if (done := _already(token=token, kind=SupportMessage.Kind.CUSTOMER)) is None:
            raise
        if done.request.user_id != user.pk:
            raise SupportRequest.DoesNotExist from None
        return done
    return message


def support_replies_seen(*, user: User, support_request_id: int) -> int:
    """Mark read the customer's notices of replies to this request (they are reading them)."""
    unread = Notice.objects.filter(
        user=user, kind=Notice.Kind.SUPPORT_REPLIED, params__request=support_request_id, read_at__isnull=True
    ).values_list("pk", flat=True)
    ids = list(unread)
    return notice_mark_read(user=user, notice_ids=ids) if ids else 0


_request, _message = Selected(SupportRequest, "r"), Selected(SupportMessage, "m")


def support_threads_of(*, user: User, limit: int = 20) -> list[SupportRequest]:
    """The customer's own requests, newest first, each with its thread as the customer may see
    it (``thread``: replies both ways, never internal notes, oldest first): one hand-written
    query (``boomcard.rows``), as the help page reads it on every first view after a change."""
    kinds = ", ".join(["%s"] * len(CUSTOMER_VISIBLE))
    query = (
        f"SELECT {_request.columns}, {_message.columns} FROM ("  # noqa: S608 (names and placeholders only)
        f"SELECT * FROM {table(SupportRequest)} WHERE user_id = %s ORDER BY created_at DESC, id DESC LIMIT %s) r"
        f" LEFT JOIN {table(SupportMessage)} m ON m.request_id = r.id AND m.kind IN ({kinds})"
        " ORDER BY r.created_at DESC, r.id DESC, m.created_at, m.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [user.pk, limit, *(kind.value for kind in CUSTOMER_VISIBLE)])
        rows = cursor.fetchall()
    threads: dict[int, SupportRequest] = {}
    for row in rows:
        request = threads.get(row[0])
        if request is None:
            request = threads[row[0]] = _request.instance(row)
            request.thread = []  # type: ignore[attr-defined]
        message = _message.instance_or_none(row, _request.width)
        if message is not None:
            with_related(message, "request", request)
            request.thread.append(message)  # type: ignore[attr-defined]
    return list(threads.values())


def support_thread_of(*, user: User, support_request_id: int) -> SupportRequest:
    """One of the customer's own requests with its visible thread (``thread``); another's, or
    none, is ``SupportRequest.DoesNotExist``."""
    visible = SupportMessage.objects.filter(kind__in=CUSTOMER_VISIBLE).order_by("created_at", "id")
    return (
        SupportRequest.objects.filter(user=user)
        .prefetch_related(Prefetch("messages", queryset=visible, to_attr="thread"))
        .get(pk=support_request_id)
    )
