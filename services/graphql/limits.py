"""Limits that keep one GraphQL document from costing the database more than a page should:
`take` per page, depth of nesting, and complexity (fields times the rows they repeat for).
Each answers a GraphQL error with its own `extensions.code` before anything is read.

Complexity counts every selected field once per row it is repeated for: a root page repeats
its items `take` times (the default page size when absent), a nested list is taken to hold
`NESTED_LIST_ROWS` rows. Introspection fields (`__schema`, `__type`) count for nothing:
clients send a deep introspection query to generate code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
)

from services.graphql.sql import is_list_output

DEFAULT_TAKE = 10  # HotChocolate's default page size
MAX_TAKE = 1000
MAX_DEPTH = 12
MAX_COMPLEXITY = 250_000
NESTED_LIST_ROWS = 10


def checked_page(skip: int | None, take: int | None) -> tuple[int, int]:
    """(skip, take) with the defaults; a GraphQL error for a negative or too large value."""
    skip = 0 if skip is None else skip
    take = DEFAULT_TAKE if take is None else take
    if skip < 0 or take < 0:
        raise GraphQLError("skip and take cannot be negative.", extensions={"code": "INVALID_ARGUMENT"})
    if take > MAX_TAKE:
        raise GraphQLError(
            f"take is {take}: at most {MAX_TAKE} items are answered per page (use skip to page on).",
            extensions={"code": "MAX_PAGE_SIZE_EXCEEDED"},
        )
    return skip, take


def limit_rules(variables: dict[str, Any] | None) -> list[type[ASTValidationRule]]:
    """The validation rules of one request (complexity reads `take` from its variables)."""

    class DocumentLimits(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            check_document(self.context, node, variables or {})  # type: ignore[arg-type]

    return [DocumentLimits]


def check_document(context: ValidationContext, document: DocumentNode, variables: dict[str, Any]) -> None:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    schema = context.schema
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        root = schema.get_root_type(operation.operation)
        if root is None:
            continue
        measure = _Measure(fragments, variables)
        depth, cost = measure.selections(operation.selection_set, root, 1)
        if depth > MAX_DEPTH:
            context.report_error(GraphQLError(
                f"The query is nested {depth} levels deep; at most {MAX_DEPTH} are allowed.",
                operation, extensions={"code": "MAX_DEPTH_EXCEEDED"},
            ))  # fmt: skip
        if cost > MAX_COMPLEXITY:
            context.report_error(GraphQLError(
                f"The query's complexity is {cost} (fields times the rows they repeat for); at most "
                f"{MAX_COMPLEXITY} is allowed: ask for fewer fields, a smaller take or less nesting.",
                operation, extensions={"code": "MAX_COMPLEXITY_EXCEEDED"},
            ))  # fmt: skip


class _Measure:
    """Depth and complexity of a selection set, fragments expanded (each spread once per path)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any]) -> None:
        self.fragments = fragments
        self.variables = variables

    def selections(
        self, selection_set: SelectionSetNode | None, parent: Any, rows: int, seen: frozenset[str] = frozenset()
    ) -> tuple[int, int]:
        depth, cost = 0, 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                d, c = self.field(selection, parent, rows, seen)
                depth, cost = max(depth, d), cost + c
            elif isinstance(selection, InlineFragmentNode):
                d, c = self.selections(selection.selection_set, self._type(selection, parent), rows, seen)
                depth, cost = max(depth, d), cost + c
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    parent_type = self._type(fragment, parent)
                    d, c = self.selections(fragment.selection_set, parent_type, rows, seen | {selection.name.value})
                    depth, cost = max(depth, d), cost + c
        return depth, cost

    def field(self, node: FieldNode, parent: Any, rows: int, seen: frozenset[str]) -> tuple[int, int]:
        if node.name.value.startswith("__"):
            return 0, 0
        fields = parent.fields if isinstance(parent, GraphQLObjectType) else {}
        definition = fields.get(node.name.value)
        if definition is None:
            return 1, rows  # unknown field: the standard rules report it
        inner_rows = rows
        if "take" in definition.args:
            inner_rows = rows * max(1, self._take(node))
        elif is_list_output(definition.type):
            inner_rows = rows * NESTED_LIST_ROWS
        depth, cost = self.selections(node.selection_set, get_named_type(definition.type), inner_rows, seen)
        return depth + 1, cost + rows

    def _take(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value != "take":
                continue
            if isinstance(arg.value, IntValueNode):
                return int(arg.value.value)
            if isinstance(arg.value, VariableNode):
                value = self.variables.get(arg.value.name.value)
                return value if isinstance(value, int) else DEFAULT_TAKE
        return DEFAULT_TAKE

    @staticmethod
    def _type(node: InlineFragmentNode | FragmentDefinitionNode, parent: Any) -> Any:
        condition = node.type_condition
        return parent if condition is None else _schema_type(parent, condition.name.value)


def _schema_type(parent: Any, name: str) -> Any:
    # Facegate's schema has no interfaces or unions: a type condition names the parent type.
    return parent if getattr(parent, "name", None) == name else None


RuleFactory = Callable[[Any, DocumentNode, Any], list[type[ASTValidationRule]]]


def validation_rules(_context: Any, _document: DocumentNode, data: Any) -> list[type[ASTValidationRule]]:
    """Ariadne's per-request hook: the limit rules with this request's variables."""
    variables = data.get("variables") if isinstance(data, dict) else None
    return limit_rules(variables if isinstance(variables, dict) else None)
