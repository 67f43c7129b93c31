"""The admin for lines, their buckets and usage, and the catalogue."""

from plans.admin import catalogue, lines, usage

__all__ = ["catalogue", "lines", "usage"]
