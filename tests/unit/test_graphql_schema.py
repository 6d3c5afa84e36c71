"""The GraphQL endpoint without a database: the served schema is SmartFace's, every error is a
GraphQL error with a code (never a 500), and the limits answer before anything is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import build_client_schema, build_schema, get_introspection_query, print_type

from services.graphql.app import GraphQLApp
from services.graphql.limits import MAX_COMPLEXITY, MAX_DEPTH, MAX_TAKE
from services.graphql.schema import build_schema as served_schema
from services.graphql.schema import sdl
from tests.support import REPO

DESIGN_SDL = REPO.parent / "shared" / "design" / "smartface-graphql.graphql"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = GraphQLApp(served_schema(), pool=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post("/graphql/", json={"query": query, "variables": variables or {}})


def contract_sdl() -> str:
    """SmartFace's schema as published beside the design notes, else the packaged copy."""
    return DESIGN_SDL.read_text() if DESIGN_SDL.exists() else sdl()


def test_packaged_schema_is_the_contract() -> None:
    if not DESIGN_SDL.exists():
        pytest.skip("../shared/design is not beside the repository")
    strip = [line for line in DESIGN_SDL.read_text().splitlines() if not line.startswith("#")]
    assert [line for line in sdl().splitlines() if not line.startswith("#")] == strip


async def test_introspection_serves_every_type_and_root_exactly(client: httpx.AsyncClient) -> None:
    r = await post(client, get_introspection_query(descriptions=True))
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    served = build_client_schema(r.json()["data"])
    contract = build_schema(contract_sdl())
    assert served.query_type and served.query_type.name == "Query"
    assert served.subscription_type and served.subscription_type.name == "Subscription"
    assert served.mutation_type is None
    names = {n for n in contract.type_map if not n.startswith("__")}
    assert names == {n for n in served.type_map if not n.startswith("__")}
    different = [n for n in sorted(names) if print_type(served.type_map[n]) != print_type(contract.type_map[n])]
    assert not different, f"types served differently from the contract: {different}"
    assert {d.name for d in contract.directives} <= {d.name for d in served.directives}


async def test_get_runs_a_query_and_the_alternative_path_answers(client: httpx.AsyncClient) -> None:
    r = await client.get("/graphql", params={"query": "{ __schema { queryType { name } } }"})
    assert r.status_code == 200 and r.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def _error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    errors = r.json()["errors"]
    assert errors and all(e["message"] and e["extensions"]["code"] for e in errors), errors
    assert errors[0]["extensions"]["code"] == code, errors
    return dict(errors[0])


async def test_malformed_documents_and_requests_are_graphql_errors(client: httpx.AsyncClient) -> None:
    error = _error(await post(client, "{ faces { "), 400, "GRAPHQL_PARSE_FAILED")
    assert error["locations"] == [{"line": 1, "column": 11}]
    _error(await client.post("/graphql/", content=b"{not json", headers={"content-type": "application/json"}),
           400, "BAD_REQUEST")  # fmt: skip
    _error(await client.post("/graphql/", json={"variables": {}}), 400, "BAD_REQUEST")


async def test_unknown_fields_and_wrong_argument_types_are_validation_errors(client: httpx.AsyncClient) -> None:
    error = _error(await post(client, "{ faces { items { nope } } }"), 200, "GRAPHQL_VALIDATION_FAILED")
    assert "nope" in error["message"] and error["locations"]
    _error(await post(client, '{ faces(take: "ten") { totalCount } }'), 200, "GRAPHQL_VALIDATION_FAILED")
    _error(await post(client, '{ faces(where: {id: {eq: "not-a-guid"}}) { totalCount } }'), 200,
           "GRAPHQL_VALIDATION_FAILED")  # fmt: skip
    _error(await post(client, "query($t: Int) { faces(take: $t) { totalCount } }", {"t": "x"}), 200, "BAD_USER_INPUT")
    error = _error(await post(client, "subscription { matchResult { id } }"), 400, "BAD_REQUEST")
    assert "WebSocket" in error["message"]


async def test_take_over_the_limit_is_an_error_on_its_path(client: httpx.AsyncClient) -> None:
    error = _error(await post(client, f"{{ faces(take: {MAX_TAKE + 1}) {{ totalCount }} }}"), 200,
                   "MAX_PAGE_SIZE_EXCEEDED")  # fmt: skip
    assert error["path"] == ["faces"]
    _error(await post(client, "{ faces(skip: -1) { totalCount } }"), 200, "INVALID_ARGUMENT")


async def test_depth_and_complexity_limits(client: httpx.AsyncClient) -> None:
    nested = "id"
    for _ in range(MAX_DEPTH):
        nested = f"tracklet {{ faces {{ {nested} }} }}"
    _error(await post(client, f"{{ faces {{ items {{ {nested} }} }} }}"), 200, "MAX_DEPTH_EXCEEDED")
    wide = " ".join(f"f{i}: faces(take: {MAX_TAKE}) {{ items {{ id frame {{ faces {{ id }} }} }} }}" for i in range(30))
    error = _error(await post(client, f"{{ {wide} }}"), 200, "MAX_COMPLEXITY_EXCEEDED")
    assert str(MAX_COMPLEXITY) in error["message"]
    variables = {"take": MAX_TAKE}
    query = "query($take: Int) { " + wide.replace(f"take: {MAX_TAKE}", "take: $take") + " }"
    _error(await post(client, query, variables), 200, "MAX_COMPLEXITY_EXCEEDED")


async def test_roots_without_data_answer_an_empty_segment(client: httpx.AsyncClient) -> None:
    r = await post(client, "{ scopes { items { id } pageInfo { hasNextPage hasPreviousPage } totalCount } }")
    assert r.json() == {"data": {"scopes": {
        "items": [], "pageInfo": {"hasNextPage": False, "hasPreviousPage": False}, "totalCount": 0}}}  # fmt: skip


async def test_other_paths(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    _error(await client.get("/nothing"), 404, "NOT_FOUND")
