"""The accounts app's models, split by subject: ``people`` (the customer, registration attempts,
SMS codes, staff enrolment codes, the demo's accounts), ``lines`` (eSIM numbers) and ``messages``
(notices, the email outbox, support requests, staff alerts)."""

from accounts.models.people import DemoAccount, EnrolmentCode, Registration, SmsCode, User, UserManager

from accounts.models.lines import Line  # isort: skip  (after the customer it belongs to)
from accounts.models.messages import EmailDelivery, Notice, StaffAlert, SupportRequest  # isort: skip

__all__ = [
    "DemoAccount",
    "EmailDelivery",
    "EnrolmentCode",
    "Line",
    "Notice",
    "Registration",
    "SmsCode",
    "StaffAlert",
    "SupportRequest",
    "User",
    "UserManager",
]
