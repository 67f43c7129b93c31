"""The accounts pages. Views parse and call a service; the service owns the write and its rules.

Split by subject, as billing/views is: ``login`` (log in and out, the code step),
``password_reset``, ``registration`` (register, verify the number), ``two_step`` (the security
page), ``preferences`` (language, time zone), ``email_change``, ``notices``, ``support``, and
``common`` (the lockout and rate-limit answers they share).
"""

from accounts.views.common import lockout
from accounts.views.email_change import EmailChangeView, email_confirm
from accounts.views.login import LoginCodeView, LoginView, LogoutView
from accounts.views.notices import notices, notices_read
from accounts.views.password_reset import PasswordResetConfirmView, PasswordResetRequestView
from accounts.views.preferences import PreferencesView, language_switch
from accounts.views.registration import RegisterView, VerifyPhoneView, verify_resend
from accounts.views.support import SupportConfirmView, support, support_thread
from accounts.views.two_step import TwoFactorDisableView, TwoFactorSetupView, security, two_factor_start

__all__ = [
    "EmailChangeView",
    "LoginCodeView",
    "LoginView",
    "LogoutView",
    "PasswordResetConfirmView",
    "PasswordResetRequestView",
    "PreferencesView",
    "RegisterView",
    "SupportConfirmView",
    "TwoFactorDisableView",
    "TwoFactorSetupView",
    "VerifyPhoneView",
    "email_confirm",
    "language_switch",
    "lockout",
    "notices",
    "notices_read",
    "security",
    "support",
    "support_thread",
    "two_factor_start",
    "verify_resend",
]
