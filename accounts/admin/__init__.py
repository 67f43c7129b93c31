"""The admin for people: customers and staff, the codes they are sent, the support queue, and
the front page's panels on support and email."""

from accounts.admin import codes, customers, dashboard, support
from accounts.admin.customers import UserAdmin

__all__ = ["UserAdmin", "codes", "customers", "dashboard", "support"]
