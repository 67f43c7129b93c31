"""Model instances made from the rows of a hand-written query, for the few reads on a customer's
hottest pages where the ORM's own work costs more than the query does: building and compiling
the queryset, then making the instances, was ~3 ms of the home page's ~4 ms read against ~1 ms
for the same SQL sent by hand (BENCHMARKS.md, "The first view after a change").

``Selected(Model, "alias")`` names every concrete column of the model (or ``only`` some) under a table alias for a
``SELECT``, and makes an instance from its slice of a row with every value converted as the ORM
converts it for this database (SQLite's datetimes arrive as text, a JSONField's value as JSON
text): the instance is the one the ORM would have made, its related object cached when read in
the same row (``with_related``). Anything not on these pages goes through the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar, overload

import psycopg
from django.db import connection
from django.db.models import Expression, Field, Model, Value
from phonenumbers import PhoneNumber

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


def _converters(expression: Expression) -> list[Converter]:
    """What the ORM's compiler applies to a value of ``expression`` read from this database."""
    return [*connection.ops.get_db_converters(expression), *expression.get_db_converters(connection)]


def table(model: type[Model]) -> str:
    """The model's table, quoted for a hand-written query."""
    return str(connection.ops.quote_name(model._meta.db_table))


def converted(value: Any, expression: Expression, converters: Sequence[Converter]) -> Any:
    for converter in converters:
        value = converter(value, expression, connection)
    return value


class Selected(Generic[M]):
    """A model's concrete columns under ``alias`` in a hand-written ``SELECT`` (``columns``, in
    the order ``instance`` reads them), and its instances from the rows."""

    def __init__(self, model: type[M], alias: str, *, only: Sequence[str] = ()) -> None:
        """``only``: the fields to read besides the primary key (all when empty); the others are
        deferred on the instances, as ``QuerySet.only`` defers them."""
        self.model = model
        self.fields: list[Field[Any, Any]] = [
            field for field in model._meta.concrete_fields if not only or field.primary_key or field.name in only
        ]
        quote = connection.ops.quote_name
        self.columns = ", ".join(f"{alias}.{quote(field.column)}" for field in self.fields)
        self.width = len(self.fields)
        self._attnames = [field.attname for field in self.fields]
        self._conversions: list[tuple[int, Expression, list[Converter]]] | None = None

    def _converting(self) -> list[tuple[int, Expression, list[Converter]]]:
        """The columns whose values this database needs converted, worked out once."""
        conversions = self._conversions
        if conversions is None:
            conversions = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                converters = _converters(column)
                if converters:
                    conversions.append((index, column, converters))
            self._conversions = conversions
        return conversions

    def instance(self, row: Sequence[Any], start: int = 0) -> M:
        """The instance in ``row`` from column ``start`` on, as the ORM would have made it."""
        values = list(row[start : start + self.width])
        for index, column, converters in self._converting():
            values[index] = converted(values[index], column, converters)
        return self.model.from_db(connection.alias, self._attnames, values)

    def instance_or_none(self, row: Sequence[Any], start: int = 0) -> M | None:
        """As ``instance``, or None where an outer join found nothing (the primary key is NULL)."""
        return None if row[start] is None else self.instance(row, start)


def row_columns(row: Model) -> tuple[object, ...]:
    """Every column of a row, as read: what a drawing kept under what it shows names of it. A
    phone number is named by every field of it and the text it was read from, all that its
    formats are made of, rather than by its repr, which checks it against its country's rules
    first (~12 µs; a line's card, its heading and the renewal page each name one)."""
    return tuple(_named(getattr(row, column.attname)) for column in row._meta.concrete_fields)


def _named(value: object) -> object:
    return (PhoneNumber.__repr__(value), value.raw_input) if isinstance(value, PhoneNumber) else value


def with_related(instance: Model, field_name: str, related: Model | None) -> None:
    """Cache ``related`` as ``instance``'s ``field_name`` (a foreign key), as ``select_related``
    does: reading it then makes no query."""
    instance._meta.get_field(field_name).set_cached_value(instance, related)  # type: ignore[union-attr]


@cache
def column_reader(field_class: type[Field[Any, Any]]) -> Callable[[Any], Any]:
    """Converts a computed column's raw value (a subquery's, a date) to what the ORM gives for a
    value of a ``field_class`` field on this database."""
    expression = Value(None, output_field=field_class())
    converters = _converters(expression)
    if not converters:
        return lambda value: value
    return lambda value: converted(value, expression, converters)


R = TypeVar("R")
R2 = TypeVar("R2")
R3 = TypeVar("R3")

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Read(Generic[R]):
    """A hand-written query (``sql`` with its ``params``) and what ``result`` makes of its rows:
    sent alone (``read``) or with others in one round trip (``read_together``)."""

    sql: str
    params: Sequence[Any]
    result: Callable[[Rows], R]


def read(query: Read[R]) -> R:
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return query.result(cursor.fetchall())


@overload
def read_together(first: Read[R], second: Read[R2], /) -> tuple[R, R2]: ...
@overload
def read_together(first: Read[R], second: Read[R2], third: Read[R3], /) -> tuple[R, R2, R3]: ...
def read_together(*queries: Read[Any]) -> tuple[Any, ...]:
    """The results of queries that do not need each other's answers, sent together: on
    PostgreSQL in one round trip (psycopg's pipeline mode: each query is sent without waiting
    for the one before), elsewhere one after another. Each is its own statement, as when sent
    alone: rows one reads may have changed by the next, as between any two reads."""
    if connection.vendor != "postgresql" or not psycopg.Pipeline.is_supported():
        return tuple(read(query) for query in queries)
    cursors = [connection.cursor() for _ in queries]
    try:
        # An error the pipeline raises as it ends (the server gone) is Django's, as any query's.
        with connection.wrap_database_errors, connection.connection.pipeline():
            for cursor, query in zip(cursors, queries, strict=True):
                cursor.execute(query.sql, query.params)
            rows = [cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()
    return tuple(query.result(found) for query, found in zip(queries, rows, strict=True))
