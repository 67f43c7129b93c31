"""The admin for lines, their buckets and usage, and the catalogue. ``customer`` adds the
customer's lines to their page (accounts.admin.UserAdmin)."""

from plans.admin import catalogue, customer, lines, usage

__all__ = ["catalogue", "customer", "lines", "usage"]
