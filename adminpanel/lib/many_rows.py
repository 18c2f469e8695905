"""Writing many rows of one model in one statement sent with ``executemany``.

A bulk plan writes a row per CSV line, 10,000 at a time. The ORM's calls
cost Python per row that is most of the work: ``QuerySet.update()`` once per
row built and compiled a query every time (~0.45 ms a row, three quarters of
the plan's worker, py-spy, docs/bulk.md); ``bulk_update()`` makes a CASE
expression per field whose size grows with rows x fields; ``bulk_create()``
builds model instances and, on SQLite (999 parameters a statement), one
INSERT per 55 rows (0.78 s for 10,000 rows here, against 0.3 s this way).

Here the statement is made once and every value is prepared by its field as
the ORM prepares it for a save (``get_db_prep_save``: JSON, binary and choice
fields alike), so SQLite and PostgreSQL get what the ORM would send them.
Neither ``save()`` nor signals run, as with ``bulk_create``/``update``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connections, models, router


def insert_each(model: type[models.Model], rows: Iterable[Mapping[str, object]]) -> None:
    """INSERT every row: its values by field attribute name (``plan_id`` for a
    foreign key), the field's default for those it leaves out."""
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise ValueError(f"insert_each() does not fill {model.__name__}.{field.name}")
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    slots = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({slots})"  # noqa: S608
    # What a model instance would hold for a field not given ("" for text).
    defaults = {field.attname: field.get_default() for field in fields}
    known = {field.attname for field in fields}
    params = []
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise ValueError(f"insert_each(): {model.__name__} has no field {sorted(unknown)}")
        params.append(
            [
                field.get_db_prep_save(
                    row[field.attname] if field.attname in row else defaults[field.attname],
                    connection,
                )
                for field in fields
            ]
        )
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def update_each(
    model: type[models.Model],
    changes: Sequence[tuple[object, Mapping[str, object]]],
    *,
    where: Mapping[str, object] | None = None,
) -> None:
    """For each ``(pk, values)``: ``UPDATE ... SET values WHERE pk = pk`` and,
    for every ``where`` item, ``field = value`` (a guard: a row that no longer
    matches is left alone). Every ``values`` must name the same fields."""
    if not changes:
        return
    names = list(changes[0][1])
    if any(list(values) != names for _, values in changes):
        raise ValueError("update_each() needs the same fields, in the same order, for every row")
    guards = dict(where or {})
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    fields = [_concrete(model, name) for name in names]
    guard_fields = [_concrete(model, name) for name in guards]
    pk = _concrete(model, "pk")
    sets = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    conditions = " AND ".join(f"{quote(field.column)} = %s" for field in [pk, *guard_fields])
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {conditions}"  # noqa: S608
    guard_values = [
        field.get_db_prep_value(value, connection)
        for field, value in zip(guard_fields, guards.values(), strict=True)
    ]
    params = [
        [
            field.get_db_prep_save(values[name], connection)
            for field, name in zip(fields, names, strict=True)
        ]
        + [pk.get_db_prep_value(key, connection), *guard_values]
        for key, values in changes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _concrete(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.concrete or field.column is None:
        raise ValueError(f"update_each() cannot set {model.__name__}.{name}")
    return field
