"""Reads that the account pages need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import ceil

from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockout import account_key
from accounts.models import EmailDelivery, Notice, SupportRequest, User
from boomcard.page_fragments import ListPage
from boomcard.rows import Selected, table


def unread_notice_count(*, user: User) -> int:
    """The bell's count: one indexed query."""
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


NOTICES_PER_PAGE = 20
_notice = Selected(Notice, "n")


def notice_page(*, user: User, number: int, per_page: int = NOTICES_PER_PAGE) -> ListPage[Notice]:
    """Page ``number`` of the customer's notices, newest first, in one hand-written query
    (``boomcard.rows``): one row past the page says whether another follows; the pages say only
    "newer" and "older", so nothing is counted. A number past the last page gives the last page,
    as ``Paginator.get_page`` does: then they are counted, and that page read."""
    query = (
        f"SELECT {_notice.columns} FROM {table(Notice)} n WHERE n.user_id = %s"  # noqa: S608 (names only)
        " ORDER BY n.created_at DESC, n.id DESC LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [user.pk, per_page + 1, (number - 1) * per_page])
        notices = [_notice.instance(row) for row in cursor.fetchall()]
    if not notices and number > 1:
        last = max(1, ceil(Notice.objects.filter(user=user).count() / per_page))
        return notice_page(user=user, number=last, per_page=per_page)
    return ListPage(number=number, items=notices[:per_page], has_next=len(notices) > per_page)


_user = Selected(User, "u")


def user_with_unread_count(*, user_id: int) -> User | None:
    """The user and the bell's count (``unread_notice_count``) in one query, a subquery over the
    same index as ``unread_notice_count``'s. Hand-written (``boomcard.rows``): the ORM took longer
    to compile the subquery (~2.5 ms) than the two plain queries it replaces took to run (~2 ms);
    this ~0.3 ms."""
    users, notices = (connection.ops.quote_name(model._meta.db_table) for model in (User, Notice))
    query = (
        f"SELECT {_user.columns}, (SELECT COUNT(*) FROM {notices} n WHERE n.user_id = u.id AND n.read_at IS NULL)"  # noqa: S608
        f" FROM {users} u WHERE u.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user = _user.instance(row)
    user.unread_notice_count = row[-1]
    return user


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    recovery_codes_left: int


def two_factor_enabled(*, user: User) -> bool:
    """Whether logging in as ``user`` needs a code from an authenticator app (one query)."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def two_factor_status(*, user: User) -> TwoFactorStatus:
    """What the security page shows: two queries."""
    return TwoFactorStatus(
        enabled=two_factor_enabled(user=user),
        recovery_codes_left=StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count(),
    )


def two_factor_device_to_confirm(*, user: User) -> TOTPDevice | None:
    """The authenticator being set up: made, shown as a QR code, not yet confirmed with a code."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-pk").first()


# --- the customer's page in the admin (accounts.admin.customer_panels) ---------------------------


@dataclass(frozen=True)
class SecondStep:
    """The customer's two-step log-in as the support desk sees it."""

    authenticator_on: bool
    authenticator_pending: bool  # one being set up, not yet confirmed
    recovery_codes_left: int

    @property
    def anything_to_reset(self) -> bool:
        return self.authenticator_on or self.authenticator_pending or self.recovery_codes_left > 0


def second_step_of(*, user: User) -> SecondStep:
    """Two queries."""
    devices = TOTPDevice.objects.filter(user_id=user.pk).aggregate(
        on=Count("pk", filter=Q(confirmed=True)), pending=Count("pk", filter=Q(confirmed=False))
    )
    codes = StaticDevice.objects.filter(user_id=user.pk).aggregate(left=Count("token_set"))
    return SecondStep(
        authenticator_on=bool(devices["on"]),
        authenticator_pending=bool(devices["pending"]),
        recovery_codes_left=int(codes["left"] or 0),
    )


@dataclass(frozen=True)
class LoginFailures:
    """Failed log-ins to the customer's account from one address (django-axes' record)."""

    address: str
    failures: int
    last_at: datetime
    locked_until: datetime | None  # None: that address may still try


def login_failures_of(*, user: User, now: datetime | None = None) -> list[LoginFailures]:
    """Each address with failed log-ins to the account, latest first, and whether it is locked
    out (``AXES_FAILURE_LIMIT`` failures within ``AXES_COOLOFF_TIME``): one query."""
    now = now or timezone.now()
    rows = []
    for attempt in AccessAttempt.objects.filter(username=account_key(user)).order_by("-attempt_time")[:20]:
        until = attempt.attempt_time + settings.AXES_COOLOFF_TIME
        locked = attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT and until > now
        rows.append(
            LoginFailures(
                address=attempt.ip_address or "",
                failures=attempt.failures_since_start,
                last_at=attempt.attempt_time,
                locked_until=until if locked else None,
            )
        )
    return rows


def notices_of(*, user: User, limit: int = 20) -> list[Notice]:
    """The customer's latest notices, each with its email (if any): one query."""
    return list(Notice.objects.filter(user=user).select_related("email").order_by("-created_at", "-id")[:limit])


def email_links_of(*, user: User, limit: int = 5) -> list[EmailDelivery]:
    """The latest emails that confirm a new address of the customer's: one query."""
    return list(EmailDelivery.objects.filter(email_verification_for=user).order_by("-created_at", "-id")[:limit])


def support_requests_for_desk(*, user: User, limit: int = 20) -> list[SupportRequest]:
    """The customer's latest support requests: one query."""
    return list(SupportRequest.objects.filter(user=user).order_by("-created_at", "-id")[:limit])
