"""The admin for people: customers and staff, and the codes they are sent; the front page's
panels on support and email."""

from accounts.admin import codes, customers, dashboard
from accounts.admin.customers import UserAdmin

__all__ = ["UserAdmin", "codes", "customers", "dashboard"]
