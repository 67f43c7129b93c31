"""The admin for lines, their buckets and usage, and the catalogue."""

from plans.admin import catalogue, goodwill, line_import, lines, usage

__all__ = ["catalogue", "goodwill", "line_import", "lines", "usage"]
