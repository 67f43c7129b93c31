"""The admin for people: customers and staff, and the codes they are sent."""

from accounts.admin import codes, customers, support
from accounts.admin.customers import UserAdmin

__all__ = ["UserAdmin", "codes", "customers", "support"]
