"""SmartFace's GraphQL schema, served as written: `smartface.graphql` is loaded, not rebuilt.

Why schema-first (ariadne) and not code-first (strawberry): the contract is SmartFace's SDL,
286 types whose names, argument order, nullability, enum values and deprecations must come out
exactly as written. Loading that text reproduces it by construction; a code-first library
would need every type re-declared in Python (and its naming conventions undone), a second copy
that could drift. Ariadne adds what the SDL cannot say: scalars, enum values and resolvers.

Resolvers: every Query root answers a collection segment (queries.py); relation fields load in
batches; subscriptions follow NATS events (subscriptions.py); every other field reads the row or
notification by its name, and a non-null field Facegate has no data for answers its type's zero
(0, false, "", the nil GUID) instead of an error.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from ariadne import EnumType, ScalarType, make_executable_schema
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    get_named_type,
    is_list_type,
    is_non_null_type,
)

from services.graphql.queries import resolve_relation, resolve_root
from services.graphql.subscriptions import subscription_type

NIL_GUID = "00000000-0000-0000-0000-000000000000"
# Enums whose stored values are the GraphQL names themselves; the others are stored as Facegate's
# REST answers write them (PascalCase: FaceState EXTRACTED is "Extracted").
ENUMS_AS_NAMED = frozenset({"SortEnumType", "MatchResultType"})
# Object types whose relation fields (those taking `where`/`order`, or naming another type)
# read Postgres; other types are notifications or settings whose fields are plain values.
ENTITY_TYPES = frozenset(
    {"Watchlist", "WatchlistMember", "Face", "Frame", "Tracklet", "MatchResult", "Camera", "Individual",
     "SearchSession", "SearchSessionObject", "Pedestrian", "GenericObject"}
)


def sdl() -> str:
    """The schema's text (a package data file, so an installed Facegate has it)."""
    return resources.files("services.graphql").joinpath("smartface.graphql").read_text(encoding="utf-8")


# --- scalars ---


def _uuid_value(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def _parse_datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("Long must be an integer")
    return int(value)


def _parse_byte(value: Any) -> int:
    number = int(value)
    if not 0 <= number <= 255:
        raise ValueError("Byte must be between 0 and 255")
    return number


def _serialize_bytes(value: Any) -> str:
    return value if isinstance(value, str) else base64.b64encode(bytes(value)).decode()


SCALARS = [
    ScalarType("UUID", serializer=_uuid_value, value_parser=_uuid_value),
    ScalarType("DateTime", serializer=_serialize_datetime, value_parser=_parse_datetime),
    ScalarType("Long", serializer=int, value_parser=_parse_long),
    ScalarType("Byte", serializer=int, value_parser=_parse_byte),
    ScalarType("ByteArray", serializer=_serialize_bytes, value_parser=lambda v: base64.b64decode(str(v))),
]


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _enum_bindings(plain: GraphQLSchema) -> list[EnumType]:
    return [
        EnumType(t.name, {name: name if t.name in ENUMS_AS_NAMED else _pascal(name) for name in t.values})
        for t in plain.type_map.values()
        if isinstance(t, GraphQLEnumType) and not t.name.startswith("__")
    ]


# --- default resolvers ---


def _zero(gql_type: Any) -> Any:
    """What a non-null field answers when Facegate has no value for it."""
    if is_list_type(gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type):
        return []
    named = get_named_type(gql_type)
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values.values())).value
    return {"Int": 0, "Long": 0, "Byte": 0, "Float": 0.0, "Boolean": False, "String": "", "UUID": NIL_GUID,
            "DateTime": datetime(1, 1, 1, tzinfo=UTC)}.get(named.name)  # fmt: skip


def _plain_resolver(name: str, gql_field: GraphQLField) -> Any:
    non_null = is_non_null_type(gql_field.type)
    named = get_named_type(gql_field.type)
    zero = _zero(gql_field.type) if non_null else None
    # Stored enum text in another case (a camera's "firstFace") still names its value.
    enum_values = (
        {str(v.value).lower(): v.value for v in named.values.values()} if isinstance(named, GraphQLEnumType) else None
    )

    def resolve(parent: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        value = parent.get(name) if isinstance(parent, dict) else getattr(parent, name, None)
        if callable(value):  # computed on demand (a segment's totalCount)
            return value(info, **args)
        if enum_values is not None and value is not None:
            value = enum_values.get(str(value).lower())
        return zero if value is None else value

    return resolve


def _is_relation(gql_field: GraphQLField) -> bool:
    return "where" in gql_field.args or isinstance(get_named_type(gql_field.type), GraphQLObjectType)


def _bind_fields(schema: GraphQLSchema) -> None:
    for gql_type in schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType) or gql_type.name.startswith("__"):
            continue
        for name, gql_field in gql_type.fields.items():
            if gql_field.resolve is not None or gql_type.name in ("Subscription",):
                continue
            if gql_type.name == "Query":
                gql_field.resolve = resolve_root
            elif gql_type.name in ENTITY_TYPES and _is_relation(gql_field):
                gql_field.resolve = resolve_relation
            else:
                gql_field.resolve = _plain_resolver(name, gql_field)


@cache
def build_schema() -> GraphQLSchema:
    """The executable schema (cached: it is immutable once built)."""
    type_defs = sdl()
    plain = make_executable_schema(type_defs)
    assert plain.subscription_type is not None
    subscriptions = subscription_type(list(plain.subscription_type.fields))
    schema = make_executable_schema(type_defs, *SCALARS, *_enum_bindings(plain), subscriptions)
    _bind_fields(schema)
    return schema
