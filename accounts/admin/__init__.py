"""The admin for people: customers and staff, and the codes they are sent."""

from accounts.admin import audit, codes, customers, security
from accounts.admin.customers import UserAdmin

__all__ = ["UserAdmin", "audit", "codes", "customers", "security"]
