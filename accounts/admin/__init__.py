"""The admin for people: customers and staff, the codes they are sent, the support queue, the
front page's panels on support and email, the audit trail, and the log-in and authenticator
records of django-axes and django-otp."""

from accounts.admin import audit, codes, customers, dashboard, security, support
from accounts.admin.customers import UserAdmin

from accounts.admin import customer_panels  # isort: skip  (adds its panels to UserAdmin)

__all__ = ["UserAdmin", "audit", "codes", "customer_panels", "customers", "dashboard", "security", "support"]
