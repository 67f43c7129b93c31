"""Security notices: an in-app notice and an email when something that guards the account has
changed, so that a customer who did not make the change hears of it at once."""

from __future__ import annotations

from accounts.models import Notice, User
from accounts.notice_keys import security_notice_key
from accounts.outbox import notice_create

SECURITY_KINDS = frozenset(
    {
        Notice.Kind.PASSWORD_RESET,
        Notice.Kind.PASSWORD_CHANGED,
        Notice.Kind.TWO_FACTOR_ON,
        Notice.Kind.TWO_FACTOR_OFF,
        Notice.Kind.EMAIL_CHANGED,
    }
)


def security_notice_create(*, user: User, kind: str, params: dict[str, str] | None = None) -> Notice | None:
    """Write the notice and its email to ``user.email`` in the caller's transaction. For an
    email change the caller passes the user as it was, so the email goes to the OLD address."""
    assert kind in SECURITY_KINDS, kind
    return notice_create(
        user=user,
        kind=kind,
        key=security_notice_key(user_id=user.pk, kind=kind),
        params=params or {},
        link="/accounts/security/",
    )
