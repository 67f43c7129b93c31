"""The accounts app's models, split by subject: ``people`` (the customer, registration attempts,
SMS codes, staff enrolment codes, the demo's accounts) and ``messages`` (notices, the email
outbox, support requests, staff alerts). Lines are the plans app's (plans.models.Line)."""

from accounts.models.people import DemoAccount, EnrolmentCode, Registration, SmsCode, User, UserManager

from accounts.models.messages import (  # isort: skip
    EmailDelivery,
    Notice,
    StaffAlert,
    SupportMessage,
    SupportRequest,
)

__all__ = [
    "DemoAccount",
    "EmailDelivery",
    "EnrolmentCode",
    "Notice",
    "Registration",
    "SmsCode",
    "StaffAlert",
    "SupportMessage",
    "SupportRequest",
    "User",
    "UserManager",
]
