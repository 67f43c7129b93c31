"""The admin for people: customers and staff, the codes they are sent, the support queue, and
the front page's panels on support and email."""

from accounts.admin import codes, customers, dashboard, support
from accounts.admin.customers import UserAdmin

from accounts.admin import customer_panels  # isort: skip  (adds its panels to UserAdmin)

__all__ = ["UserAdmin", "codes", "customer_panels", "customers", "dashboard", "support"]
