"""The admin for lines, their buckets and usage, the usage feed's batches, and the catalogue."""

from plans.admin import batches, catalogue, dashboard, lines, usage

__all__ = ["batches", "catalogue", "dashboard", "lines", "usage"]
