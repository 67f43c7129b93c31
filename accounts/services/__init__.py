"""Every write on customers, their codes, two-step log-in and notices, split by subject as
billing/services is: ``sms_codes`` (send and check the codes that prove a number), ``two_step``
(the authenticator app and recovery codes), ``customers`` (language, time zone) and ``notices``.
The subjects that have their own page flow keep a module of their own beside this package
(``registration``, ``password_reset``, ``email_change``, ``support``, ``enrolment``), and the
outbox (``accounts.outbox``) is what other apps call to tell a customer something.

Each function is one transaction and says what it guarantees; a refusal is a ValidationError
with a ``code`` the page can act on.
"""

from accounts.services.customers import user_language_set, user_preferences_update
from accounts.services.notices import notice_mark_read
from accounts.services.sms_codes import (
    CODE_LIFETIME,
    CODE_MAX_ATTEMPTS,
    CODE_MAX_PER_HOUR,
    CODE_RESEND_AFTER,
    sms_code_check,
    sms_code_send,
)
from accounts.services.two_step import (
    AUTHENTICATOR_NAME,
    RECOVERY_CODE_COUNT,
    RECOVERY_CODES_NAME,
    recovery_code_clean,
    two_factor_disable,
    two_factor_setup_confirm,
    two_factor_setup_start,
    two_factor_verify,
)

__all__ = [
    "AUTHENTICATOR_NAME",
    "CODE_LIFETIME",
    "CODE_MAX_ATTEMPTS",
    "CODE_MAX_PER_HOUR",
    "CODE_RESEND_AFTER",
    "RECOVERY_CODES_NAME",
    "RECOVERY_CODE_COUNT",
    "notice_mark_read",
    "recovery_code_clean",
    "sms_code_check",
    "sms_code_send",
    "two_factor_disable",
    "two_factor_setup_confirm",
    "two_factor_setup_start",
    "two_factor_verify",
    "user_language_set",
    "user_preferences_update",
]
