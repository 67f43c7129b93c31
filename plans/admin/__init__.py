"""The admin for lines, their buckets and usage, the usage feed's batches, and the catalogue.
``customer`` adds the customer's lines to their page (accounts.admin.UserAdmin)."""

from plans.admin import batches, catalogue, customer, dashboard, goodwill, line_import, lines, usage

__all__ = ["batches", "catalogue", "customer", "dashboard", "goodwill", "line_import", "lines", "usage"]
