"""Model fields the apps share."""

from __future__ import annotations

from typing import Any

from django.db import models


class StoredJSONField(models.JSONField):
    """JSON kept as written and read back whole, never queried into: PostgreSQL's ``json`` type
    (the text, checked once) rather than ``jsonb`` (parsed into a binary form on every write and
    printed back to text on every read). For a usage batch's ~360 kB of records that is 1.8 ms
    to store and 1.2 ms to read back as text against 6.3 and 7.5 ms as jsonb (PostgreSQL 15, this
    machine). Lookups into the value (``records__0``) are jsonb's and are not offered. Other
    databases store it as JSONField does."""

    def db_type(self, connection: Any) -> str | None:
        return "json" if connection.vendor == "postgresql" else super().db_type(connection)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # psycopg hands a ``json`` column over decoded (Django only asks it for jsonb as text).
        if value is None or not isinstance(value, str | bytes | bytearray):
            return value
        return super().from_db_value(value, expression, connection)
