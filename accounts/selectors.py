"""Reads that the account pages need."""

from __future__ import annotations

from dataclasses import dataclass

from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Notice, User


def unread_notice_count(*, user: User) -> int:
    """The bell's count: one indexed query."""
    return Notice.objects.filter(user=user, read_at__isnull=True).count()


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
