"""Compare one operation of the OpenAPI document Facegate serves with SmartFace's.

Each check returns readable problems ("POST /api/v1/Watchlists -> 201: displayName missing")
instead of raising, so a test can report every difference at once, and a test of the test can
run the same comparison on a doctored document.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
Schema = dict[str, Any]

# Request fields of features Facegate does not offer (see docs/compatibility.md).
EXEMPT_REQUEST_FIELDS = ("palm", "totp")
# Statuses any HTTP client handles, which an operation may answer though SmartFace's document does
# not declare them there (issue 20); every other status must be one SmartFace declares.
ANY_CLIENT_HANDLES = frozenset({"401", "403", "413", "429", "503"})
_MAX_DEPTH = 8


def resolve(doc: Doc, schema: Schema) -> Schema:
    """Follow `$ref`s inside the same document."""
    seen = 0
    while "$ref" in schema and seen < 32:
        parts = schema["$ref"].removeprefix("#/").split("/")
        target: Any = doc
        for part in parts:
            target = target[part]
        schema, seen = target, seen + 1
    return schema


def alternatives(doc: Doc, schema: Schema) -> list[Schema]:
    """The non-null schemas a value may match (oneOf/anyOf/allOf flattened)."""
    schema = resolve(doc, schema)
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return [alt for sub in schema[key] for alt in alternatives(doc, sub)]
    return [] if schema.get("type") == "null" else [schema]


def json_types(doc: Doc, schema: Schema) -> set[str]:
    """JSON types a schema allows, null left out; empty means unconstrained."""
    types: set[str] = set()
    for alt in alternatives(doc, schema):
        declared = alt.get("type")
        if isinstance(declared, list):
            types.update(declared)
        elif isinstance(declared, str):
            types.add(declared)
        elif "enum" in alt:
            types.update("string" if isinstance(v, str) else "integer" for v in alt["enum"] if v is not None)
        elif "properties" in alt:
            types.add("object")
    types.discard("null")
    return types


def enum_values(doc: Doc, schema: Schema) -> set[Any] | None:
    values = [v for alt in alternatives(doc, schema) for v in alt.get("enum", []) if v is not None]
    return set(values) if values else None


def properties(doc: Doc, schema: Schema) -> tuple[dict[str, Schema], set[str]]:
    """Properties and required names of an object schema (allOf parts merged)."""
    props: dict[str, Schema] = {}
    required: set[str] = set()
    for alt in alternatives(doc, schema):
        props.update(alt.get("properties", {}))
        required.update(alt.get("required", []))
    return props, required


def array_items(doc: Doc, schema: Schema) -> Schema | None:
    for alt in alternatives(doc, schema):
        if "items" in alt:
            items: Schema = alt["items"]
            return items
    return None


def _widen(types: set[str]) -> set[str]:
    """An integer is a valid number; nothing else converts silently in a typed client."""
    return types | {"integer"} if "number" in types else types


def json_body(doc: Doc, holder: dict[str, Any]) -> Schema | None:
    content = holder.get("content", {})
    for media in ("application/json", "application/problem+json"):
        if media in content:
            schema: Schema = content[media].get("schema", {})
            return schema
    return None


def success_code(operation: dict[str, Any]) -> str | None:
    codes = sorted(c for c in operation.get("responses", {}) if c.startswith("2"))
    return codes[0] if codes else None


def undeclared_statuses(sf_op: dict[str, Any], fg_op: dict[str, Any], op: str) -> list[str]:
    """Statuses Facegate documents for an operation that SmartFace's document does not declare."""
    declared = set(sf_op.get("responses", {})) | ANY_CLIENT_HANDLES
    return [f"{op}: answers {code}, which SmartFace does not declare" for code in sorted(fg_op.get("responses", {}))
            if code not in declared]  # fmt: skip


def compare_response(sf: Doc, fg: Doc, sf_schema: Schema, fg_schema: Schema, where: str, depth: int = 0) -> list[str]:
    """Facegate's answer must carry every field SmartFace requires, with a type a SmartFace client
    parses (Facegate may be narrower, e.g. integer for number) and the same enum values."""
    if depth > _MAX_DEPTH:
        return []
    problems: list[str] = []
    sf_types, fg_types = json_types(sf, sf_schema), json_types(fg, fg_schema)
    if sf_types and not (fg_types and fg_types <= _widen(sf_types)):
        return [f"{where}: type {sorted(fg_types) or 'unconstrained'} where SmartFace has {sorted(sf_types)}"]
    sf_enum, fg_enum = enum_values(sf, sf_schema), enum_values(fg, fg_schema)
    if sf_enum is not None and fg_enum != sf_enum:
        theirs, ours = sorted(map(str, sf_enum)), sorted(map(str, fg_enum or []))
        problems.append(f"{where}: enum {ours} where SmartFace has {theirs}")
    if "object" in sf_types:
        sf_props, sf_required = properties(sf, sf_schema)
        fg_props, fg_required = properties(fg, fg_schema)
        for name in sorted(sf_required):
            if name not in fg_props:
                problems.append(f"{where}.{name}: missing (SmartFace requires it)")
            elif name not in fg_required:
                problems.append(f"{where}.{name}: optional where SmartFace requires it")
            elif name in sf_props:  # SmartFace requires VideoRecord's and RecordGrouping's description undescribed
                problems += compare_response(sf, fg, sf_props[name], fg_props[name], f"{where}.{name}", depth + 1)
    if "array" in sf_types:
        sf_items, fg_items = array_items(sf, sf_schema), array_items(fg, fg_schema)
        if sf_items is not None:
            if fg_items is None:
                problems.append(f"{where}[]: items not described")
            else:
                problems += compare_response(sf, fg, sf_items, fg_items, f"{where}[]", depth + 1)
    return problems


def compare_request(sf: Doc, fg: Doc, sf_schema: Schema, fg_schema: Schema, where: str, depth: int = 0) -> list[str]:
    """Facegate must accept every field a SmartFace client sends (palm and TOTP fields excepted),
    with a type at least as wide and every enum value."""
    if depth > _MAX_DEPTH:
        return []
    problems: list[str] = []
    sf_types, fg_types = json_types(sf, sf_schema), json_types(fg, fg_schema)
    if fg_types and not sf_types <= _widen(fg_types):
        return [f"{where}: accepts {sorted(fg_types)} where SmartFace sends {sorted(sf_types)}"]
    sf_enum, fg_enum = enum_values(sf, sf_schema), enum_values(fg, fg_schema)
    if sf_enum is not None and fg_enum is not None and not sf_enum <= fg_enum:
        problems.append(f"{where}: enum lacks {sorted(map(str, sf_enum - fg_enum))}")
    if "object" in sf_types:
        sf_props, sf_required = properties(sf, sf_schema)
        fg_props, fg_required = properties(fg, fg_schema)
        # A SmartFace client may leave out what SmartFace does not require.
        for name in sorted(fg_required - sf_required):
            problems.append(f"{where}.{name}: required where SmartFace does not require it")
        for name in sorted(sf_props):
            if any(word in name.lower() for word in EXEMPT_REQUEST_FIELDS):
                continue
            if name not in fg_props:
                problems.append(f"{where}.{name}: not accepted")
            else:
                problems += compare_request(sf, fg, sf_props[name], fg_props[name], f"{where}.{name}", depth + 1)
    if "array" in sf_types:
        sf_items, fg_items = array_items(sf, sf_schema), array_items(fg, fg_schema)
        if sf_items is not None and fg_items is not None:
            problems += compare_request(sf, fg, sf_items, fg_items, f"{where}[]", depth + 1)
    return problems


def parameters(doc: Doc, path_item: dict[str, Any], operation: dict[str, Any], where: str) -> dict[str, Schema]:
    """Parameters `in` one place (query, path), by name (operation-level ones override)."""
    params = [resolve(doc, p) for p in path_item.get("parameters", []) + operation.get("parameters", [])]
    return {p["name"]: p for p in params if p.get("in") == where}


def compare_parameters(
    sf: Doc, fg: Doc, sf_params: dict[str, Schema], fg_params: dict[str, Schema], where: str
) -> list[str]:
    """Every SmartFace parameter under the same name, taking what SmartFace clients send, and no
    parameter required that SmartFace clients may leave out."""
    problems: list[str] = []
    for name in sorted(sf_params):
        if name not in fg_params:
            problems.append(f"{where} parameter {name} missing")
            continue
        sf_schema, fg_schema = sf_params[name].get("schema", {}), fg_params[name].get("schema", {})
        problems += compare_request(sf, fg, sf_schema, fg_schema, f"{where} parameter {name}")
    for name in sorted(fg_params):
        if fg_params[name].get("required") and not sf_params.get(name, {}).get("required"):
            problems.append(f"{where} parameter {name}: required where SmartFace does not require it")
    return problems


def compare_operation(sf: Doc, fg: Doc, method: str, path: str) -> list[str]:
    """Every difference that would break a SmartFace client calling `method path` on Facegate."""
    op = f"{method} {path}"
    sf_item, fg_item = sf["paths"].get(path, {}), fg["paths"].get(path, {})
    sf_op, fg_op = sf_item.get(method.lower()), fg_item.get(method.lower())
    if sf_op is None:
        return [f"{op}: not a SmartFace operation"]
    if fg_op is None:
        return [f"{op}: not served"]
    problems: list[str] = []
    for where in ("query", "path"):
        sf_params, fg_params = parameters(sf, sf_item, sf_op, where), parameters(fg, fg_item, fg_op, where)
        problems += compare_parameters(sf, fg, sf_params, fg_params, f"{op}: {where}")

    sf_body = json_body(sf, resolve(sf, sf_op.get("requestBody", {})))
    if sf_body is not None:
        fg_body = json_body(fg, resolve(fg, fg_op.get("requestBody", {})))
        if fg_body is None:
            problems.append(f"{op}: takes no JSON body")
        else:
            problems += compare_request(sf, fg, sf_body, fg_body, f"{op} body")

    problems += undeclared_statuses(sf_op, fg_op, op)
    sf_code, fg_code = success_code(sf_op), success_code(fg_op)
    if sf_code != fg_code:
        problems.append(f"{op}: success status {fg_code} where SmartFace answers {sf_code}")
    elif sf_code is not None:
        sf_resp = json_body(sf, resolve(sf, sf_op["responses"][sf_code]))
        fg_resp = json_body(fg, resolve(fg, fg_op["responses"][sf_code]))
        if sf_resp is not None:
            if fg_resp is None:
                problems.append(f"{op} -> {sf_code}: no JSON body")
            else:
                problems += compare_response(sf, fg, sf_resp, fg_resp, f"{op} -> {sf_code}")
    return problems


def additions_smartface_has(smartface: Doc, served: Doc, addition_tag: str) -> list[str]:
    """Operations tagged as Facegate additions that are SmartFace operations: they would escape
    the field-by-field comparison, so they must be declared implemented instead."""
    return [
        f"{method.upper()} {path}"
        for path, item in served["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch")
        and addition_tag in operation.get("tags", [])
        and method in smartface["paths"].get(path, {})
    ]


def undeclared_operations(served: Doc, implemented: frozenset[tuple[str, str]], addition_tag: str) -> list[str]:
    """Operations served that are neither declared implemented nor tagged as Facegate additions."""
    found = []
    for path, item in served["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch"):
                declared = (method.upper(), path) in implemented or addition_tag in operation.get("tags", [])
                if not declared:
                    found.append(f"{method.upper()} {path}")
    return found
