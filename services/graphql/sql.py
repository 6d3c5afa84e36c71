"""HotChocolate's `where` and `order` arguments compiled to parameterised SQL.

Values only ever travel as parameters (`$n::type`); names only ever come from `entities.py`.
The compiler walks a filter with its GraphQL input type in hand, so it knows which inputs are
operations on a field (`eq`, `in`, `gt`, `contains`, ...), filters on a related object, or
`some`/`all`/`none`/`any` on a related list.

Null semantics follow .NET's (HotChocolate runs the filter as a LINQ expression): `eq: null`
is IS NULL, `neq` is true for a NULL field, a negated operation (`ngt`, `nin`, `ncontains`,
...) is true where the positive one is not (NULL included). A filter on a to-one relation
whose row is missing sees every field of it as NULL, as the SQL Server/EF join does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_list_type,
)

from services.graphql.entities import ENTITIES, Entity, Relation

SQL_TYPES = {
    "String": "text", "ID": "text", "UUID": "uuid", "DateTime": "timestamptz", "Int": "int", "Long": "bigint",
    "Float": "float8", "Boolean": "bool", "Byte": "int",
}  # fmt: skip

COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
NEGATED = {"ngt": "gt", "ngte": "gte", "nlt": "lt", "nlte": "lte", "ncontains": "contains",
           "nstartsWith": "startsWith", "nendsWith": "endsWith"}  # fmt: skip
LIST_OPERATIONS = frozenset({"all", "none", "some", "any"})


def sql_type_of(named: Any) -> str:
    """The Postgres type for a GraphQL scalar or enum (enums are stored as text)."""
    return "text" if isinstance(named, GraphQLEnumType) else SQL_TYPES.get(named.name, "text")


@dataclass
class Params:
    """The positional parameters of one statement."""

    values: list[Any] = field(default_factory=list)

    def add(self, value: Any, sql_type: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{sql_type}"


@dataclass
class Query:
    """One statement being built: its parameters and a counter for unique aliases."""

    schema: GraphQLSchema
    params: Params = field(default_factory=Params)
    aliases: int = 0

    def alias(self) -> str:
        self.aliases += 1
        return f"t{self.aliases}"

    # --- fields ---

    def column(self, entity: Entity | None, name: str, alias: str) -> tuple[str, str] | None:
        """(SQL expression, SQL type) of a field; None when the entity has no such field."""
        if entity is None:
            return None
        gql_type = self.schema.type_map.get(entity.type_name)
        gql_field = gql_type.fields.get(name) if isinstance(gql_type, GraphQLObjectType) else None
        sql_type = entity.sql_types.get(name)
        if sql_type is None and gql_field is not None:
            sql_type = sql_type_of(get_named_type(gql_field.type))
        expr = entity.fields.get(name)
        if expr is None and entity.json and gql_field is not None and sql_type is not None:
            key = name if entity.json_camel else snake(name)
            text = f"{{t}}.{entity.json}->>'{key}'"
            expr = text if sql_type == "text" else f"({text})::{sql_type}"
        if expr is None:
            return None
        return expr.format(t=alias), sql_type or "text"

    # --- where ---

    def where(self, entity: Entity | None, value: dict[str, Any] | None, input_type: Any, alias: str) -> str:
        """A boolean SQL expression for `value` (an `...FilterInput`) over the row `alias`."""
        if not value:
            return "TRUE"
        parts: list[str] = []
        for key, arg in value.items():
            field_type = get_named_type(input_type.fields[key].type)
            if key in ("and", "or"):
                joined = [self.where(entity, item, input_type, alias) for item in arg or []]
                if joined:
                    parts.append("(" + f" {key.upper()} ".join(joined) + ")")
            elif arg is None:
                continue  # an absent or null filter field filters nothing (HotChocolate skips it)
            elif is_list_filter(field_type):
                parts.append(self._list_filter(entity, key, arg, field_type, alias))
            elif is_operation_filter(field_type):
                found = self.column(entity, key, alias)
                sql_type = found[1] if found else sql_type_of(get_named_type(field_type.fields["eq"].type))
                expr = found[0] if found else f"NULL::{sql_type}"
                parts.append(self.operations(expr, sql_type, arg, field_type))
            else:
                parts.append(self._object_filter(entity, key, arg, field_type, alias))
        return " AND ".join(parts) if parts else "TRUE"

    def operations(self, expr: str, sql_type: str, ops: dict[str, Any], input_type: GraphQLInputObjectType) -> str:
        """`{eq: ..., gt: ..., and: [...]}` on one field's expression."""
        parts: list[str] = []
        for op, operand in ops.items():
            if op in ("and", "or"):
                joined = [self.operations(expr, sql_type, item, input_type) for item in operand or []]
                if joined:
                    parts.append("(" + f" {op.upper()} ".join(joined) + ")")
            elif op in NEGATED:
                parts.append(f"NOT coalesce({self._operation(expr, sql_type, NEGATED[op], operand)}, FALSE)")
            elif op == "nin":
                parts.append(f"NOT coalesce({self._operation(expr, sql_type, 'in', operand)}, FALSE)")
            else:
                parts.append(self._operation(expr, sql_type, op, operand))
        return "(" + " AND ".join(parts) + ")" if parts else "TRUE"

    def _operation(self, expr: str, sql_type: str, op: str, operand: Any) -> str:
        if op == "eq":
            return f"({expr} IS NULL)" if operand is None else f"({expr} = {self.params.add(operand, sql_type)})"
        if op == "neq":
            return (
                f"({expr} IS NOT NULL)"
                if operand is None
                else f"({expr} IS DISTINCT FROM {self.params.add(operand, sql_type)})"
            )
        if op == "in":
            values = [v for v in operand or [] if v is not None]
            parts = [f"{expr} = ANY({self.params.add(values, sql_type + '[]')})"] if values else []
            if operand is not None and None in operand:
                parts.append(f"{expr} IS NULL")
            return "(" + " OR ".join(parts) + ")" if parts else "FALSE"
        if operand is None:
            return "FALSE"  # comparing with null, or searching for null text, matches nothing
        if op in COMPARISONS:
            return f"({expr} {COMPARISONS[op]} {self.params.add(operand, sql_type)})"
        p = self.params.add(operand, "text")
        if op == "contains":
            return f"(strpos({expr}, {p}) > 0)"
        if op == "startsWith":
            return f"starts_with({expr}, {p})"
        if op == "endsWith":
            return f"(right({expr}, length({p})) = {p})"
        raise ValueError(f"unknown filter operation {op!r}")

    def _list_filter(self, entity: Entity | None, key: str, arg: dict[str, Any], list_type: Any, alias: str) -> str:
        rel = entity.relations.get(key) if entity else None
        child_type = get_named_type(list_type.fields["some"].type)
        parts: list[str] = []
        for op, inner in arg.items():
            if inner is None:
                continue
            if op == "any":
                found = self.exists(entity, rel, alias, lambda _c, _a: "TRUE") if rel else "FALSE"
                parts.append(found if inner else f"NOT {found}")
                continue
            if rel is None:  # a list Facegate has no data for is empty
                parts.append("FALSE" if op == "some" else "TRUE")
                continue

            def cond(child: Entity | None, child_alias: str, inner: Any = inner) -> str:
                return self.where(child, inner, child_type, child_alias)

            if op == "some":
                parts.append(self.exists(entity, rel, alias, cond))
            elif op == "none":
                parts.append(f"NOT {self.exists(entity, rel, alias, cond)}")
            else:  # all: no element fails the condition

                def fails(child: Entity | None, child_alias: str, cond: Callable[..., str] = cond) -> str:
                    return f"NOT coalesce({cond(child, child_alias)}, FALSE)"

                parts.append(f"NOT {self.exists(entity, rel, alias, fails)}")
        return "(" + " AND ".join(parts) + ")" if parts else "TRUE"

    def _object_filter(self, entity: Entity | None, key: str, arg: dict[str, Any], input_type: Any, alias: str) -> str:
        rel = entity.relations.get(key) if entity else None
        missing = self.where(None, arg, input_type, "null")  # the filter on a missing row (all NULL)
        if rel is None:
            return f"coalesce({missing}, FALSE)"
        found = self.exists(entity, rel, alias, lambda child, a: self.where(child, arg, input_type, a))
        absent = f"NOT {self.exists(entity, rel, alias, lambda _c, _a: 'TRUE')}"
        return f"({found} OR ({absent} AND coalesce({missing}, FALSE)))"

    def exists(
        self, parent: Entity | None, rel: Relation | None, alias: str, cond: Callable[[Entity | None, str], str]
    ) -> str:
        """EXISTS (a row of the relation of the parent row `alias` for which `cond` holds)."""
        if parent is None or rel is None:
            return "FALSE"
        child = ENTITIES[rel.target]
        c = self.alias()
        if rel.target == "WatchlistMemberLabel":  # the member row's jsonb array
            labels = f"jsonb_to_recordset({alias}.labels) AS {c}(key text, value text)"
            return f"EXISTS (SELECT 1 FROM {labels} WHERE {cond(child, c)})"
        source, key = self.relation_source(rel, c)
        parent_key = self.column(parent, rel.parent_field, alias)
        assert parent_key is not None, f"{parent.name}.{rel.parent_field} is not mapped"
        return f"EXISTS (SELECT 1 FROM {source} WHERE {key} = {parent_key[0]} AND {cond(child, c)})"

    def relation_source(self, rel: Relation, c: str) -> tuple[str, str]:
        """(FROM clause of the related rows under alias `c`, their key expression)."""
        v = self.alias()
        child = ENTITIES[rel.target]
        return f"{child.source} {c} {rel.via.format(c=c, v=v)}", rel.child_key.format(c=c, v=v)

    # --- order ---

    def order_by(self, entity: Entity, order: list[dict[str, Any]] | None, alias: str) -> str:
        """ORDER BY terms: the requested ones, then the entity's default order (stable pages)."""
        terms = [term for item in order or [] for term in self._sort_terms(entity, item, alias)]
        terms += [f"{expr.format(t=alias)} ASC" for expr in entity.order]
        return ", ".join(terms)

    def _sort_terms(self, entity: Entity | None, item: dict[str, Any], alias: str) -> list[str]:
        terms: list[str] = []
        for key, direction in item.items():
            if direction is None or entity is None:
                continue
            if isinstance(direction, dict):  # a to-one relation: sort by the related row's field
                rel = entity.relations.get(key)
                if rel is None or rel.many:
                    continue
                c = self.alias()
                source, child_key = self.relation_source(rel, c)
                parent_key = self.column(entity, rel.parent_field, alias)
                assert parent_key is not None
                for term in self._sort_terms(ENTITIES[rel.target], direction, c):
                    expr, _, way = term.rpartition(" ")
                    terms.append(f"(SELECT {expr} FROM {source} WHERE {child_key} = {parent_key[0]} LIMIT 1) {way}")
                continue
            found = self.column(entity, key, alias)
            if found is not None:
                terms.append(f"{found[0]} {'DESC' if direction == 'DESC' else 'ASC'}")
        return terms


def select_list(query: Query, entity: Entity, alias: str) -> str:
    """Every mapped field of the entity as a named column, and its jsonb column as `__json`."""
    columns = [f'{expr.format(t=alias)} AS "{name}"' for name, expr in entity.fields.items()]
    if entity.json:
        columns.append(f'{alias}.{entity.json} AS "__json"')
    return ", ".join(columns)


def is_list_filter(input_type: Any) -> bool:
    return isinstance(input_type, GraphQLInputObjectType) and set(input_type.fields) == LIST_OPERATIONS


def is_operation_filter(input_type: Any) -> bool:
    return isinstance(input_type, GraphQLInputObjectType) and "eq" in input_type.fields


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def is_list_output(gql_type: GraphQLInputType | Any) -> bool:
    """Whether an output field's type is a list (non-null unwrapped)."""
    inner = getattr(gql_type, "of_type", None) if type(gql_type).__name__ == "GraphQLNonNull" else gql_type
    return is_list_type(inner)
