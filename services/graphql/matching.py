"""The same `where` semantics as sql.py, evaluated in Python on one object: a subscription's
notification (camelCase JSON of the NATS event) or a member's labels (held in its row).

Values are compared as the filter's scalar type: JSON strings become times for DateTime and
lowercase for UUID. Null semantics are .NET's, as in sql.py.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLInputObjectType, get_named_type

from services.graphql.sql import NEGATED, is_list_filter, is_operation_filter

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
    "contains": lambda v, o: o in v, "startsWith": lambda v, o: v.startswith(o), "endsWith": lambda v, o: v.endswith(o),
}  # fmt: skip


def matches(where: dict[str, Any] | None, where_type: Any, row: Any) -> bool:
    """Whether `row` (a dict of camelCase fields) passes the filter `where` of `where_type`."""
    if not where:
        return True
    row = row if isinstance(row, dict) else {}
    for key, arg in where.items():
        field_type = get_named_type(where_type.fields[key].type)
        if key == "and":
            if not all(matches(item, where_type, row) for item in arg or []):
                return False
        elif key == "or":
            if arg and not any(matches(item, where_type, row) for item in arg):
                return False
        elif arg is None:
            continue
        elif is_list_filter(field_type):
            if not _list_matches(row.get(key), arg, get_named_type(field_type.fields["some"].type)):
                return False
        elif is_operation_filter(field_type):
            if not operations_match(row.get(key), arg, field_type):
                return False
        elif not matches(arg, field_type, row.get(key) or {}):
            return False
    return True


def _list_matches(items: Any, arg: dict[str, Any], child_type: Any) -> bool:
    items = items if isinstance(items, list) else []

    def one(item: Any, inner: dict[str, Any]) -> bool:
        if is_operation_filter(child_type):
            return operations_match(item, inner, child_type)
        return matches(inner, child_type, item)

    for op, inner in arg.items():
        if inner is None:
            continue
        if op == "any" and bool(items) != inner:
            return False
        if op == "some" and not any(one(item, inner) for item in items):
            return False
        if op == "none" and any(one(item, inner) for item in items):
            return False
        if op == "all" and not all(one(item, inner) for item in items):
            return False
    return True


def operations_match(value: Any, ops: dict[str, Any], op_type: GraphQLInputObjectType) -> bool:
    """`{eq: ..., gt: ..., and: [...]}` on one value."""
    scalar = get_named_type(op_type.fields["eq"].type).name if "eq" in op_type.fields else "String"
    value = _as(value, scalar)
    for op, operand in ops.items():
        if op == "and":
            ok = all(operations_match(value, item, op_type) for item in operand or [])
        elif op == "or":
            ok = not operand or any(operations_match(value, item, op_type) for item in operand)
        else:
            ok = _operation(value, op, _as(operand, scalar) if not isinstance(operand, list) else
                            [_as(v, scalar) for v in operand])  # fmt: skip
        if not ok:
            return False
    return True


def _operation(value: Any, op: str, operand: Any) -> bool:
    if op == "eq":
        return bool(value == operand)
    if op == "neq":
        return bool(value != operand)
    if op == "in":
        return value in (operand or [])
    if op == "nin":
        return value not in (operand or [])
    negated = op in NEGATED
    base = NEGATED.get(op, op)
    if base not in COMPARE:
        return False
    try:
        positive = value is not None and operand is not None and bool(COMPARE[base](value, operand))
    except TypeError:
        positive = False
    return not positive if negated else positive


def _as(value: Any, scalar: str) -> Any:
    """A JSON value as the filter's scalar type, comparable with the coerced operand."""
    if value is None:
        return None
    if scalar == "DateTime" and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if scalar == "UUID":
        return str(value).lower()
    return value


def sort_rows(rows: list[dict[str, Any]], order: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Rows sorted by an `order` argument (nulls last, as Postgres sorts ascending)."""
    terms = [(key, way) for item in order or [] for key, way in item.items() if isinstance(way, str)]
    for key, way in reversed(terms):
        present = sorted((r for r in rows if r.get(key) is not None), key=lambda r: r[key], reverse=way == "DESC")
        rows = present + [r for r in rows if r.get(key) is None]
    return rows
