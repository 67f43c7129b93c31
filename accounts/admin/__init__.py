"""The admin for people: customers and staff, and the codes they are sent."""

from accounts.admin import codes, customers
from accounts.admin.customers import UserAdmin

from accounts.admin import customer_panels  # isort: skip  (adds its panels to UserAdmin)

__all__ = ["UserAdmin", "codes", "customer_panels", "customers"]
