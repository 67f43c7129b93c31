"""The admin for lines, their buckets and usage, the usage feed's batches, and the catalogue."""

from plans.admin import batches, catalogue, dashboard, goodwill, line_import, lines, usage

__all__ = ["batches", "catalogue", "dashboard", "goodwill", "line_import", "lines", "usage"]
