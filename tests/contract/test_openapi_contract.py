"""The OpenAPI document the running gateway serves, against SmartFace's, operation by operation."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from services.gateway.compatibility import (
    DIFFERENCES,
    IMPLEMENTED,
    OUT_OF_SCOPE,
    PLANNED,
    SMARTFACE_OPENAPI,
    TABLE,
    operations,
    render,
    served_document,
    status,
)
from services.gateway.openapi import FACEGATE_TAG
from services.gateway.statuses import SMARTFACE_STATUSES
from tests.contract.openapi_contract import (
    additions_smartface_has,
    compare_operation,
    resolve,
    undeclared_operations,
)
from tests.support import Cluster


@pytest.fixture(scope="module")
def smartface() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SMARTFACE_OPENAPI.read_text())
    return doc


@pytest.fixture(scope="module")
def served(cluster: Cluster) -> dict[str, Any]:
    with cluster.http() as client:
        response = client.get("/swagger/v1/swagger.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


@pytest.mark.parametrize("operation", sorted(IMPLEMENTED), ids=" ".join)
def test_implemented_operation_matches_smartface(
    smartface: dict[str, Any], served: dict[str, Any], operation: tuple[str, str]
) -> None:
    problems = compare_operation(smartface, served, *operation)
    assert not problems, "\n".join(problems)


def test_the_gateway_knows_the_statuses_smartface_declares(smartface: dict[str, Any]) -> None:
    """The gateway answers with these (services/gateway/statuses.py): they are SmartFace's."""
    differ = {
        op: codes
        for op, codes in SMARTFACE_STATUSES.items()
        if sorted(codes) != sorted(int(c) for c in smartface["paths"][op[1]][op[0].lower()]["responses"])
    }
    assert not differ, f"not what SmartFace's document declares: {differ}"


def test_every_served_operation_is_declared(smartface: dict[str, Any], served: dict[str, Any]) -> None:
    """Drift: an operation served but neither declared implemented nor tagged as an addition."""
    undeclared = undeclared_operations(served, IMPLEMENTED, FACEGATE_TAG)
    assert not undeclared, f"declare these in services/gateway/compatibility.py or tag them {FACEGATE_TAG}"
    assert set(operations(smartface)) >= IMPLEMENTED, "IMPLEMENTED names an operation SmartFace does not have"
    # An addition is Facegate's own: a SmartFace operation tagged as one would escape the contract.
    assert not additions_smartface_has(smartface, served, FACEGATE_TAG), "declare these implemented instead"
    # ... and the checks do see an undeclared operation and a SmartFace one passed off as an addition.
    doc = copy.deepcopy(served)
    doc["paths"]["/api/v1/Secret"] = {"get": {"tags": ["Watchlist"], "responses": {"200": {}}}}
    assert undeclared_operations(doc, IMPLEMENTED, FACEGATE_TAG) == ["GET /api/v1/Secret"]
    doc["paths"]["/api/v1/Watchlists/{id}"]["get"]["tags"].append(FACEGATE_TAG)
    assert additions_smartface_has(smartface, doc, FACEGATE_TAG) == ["GET /api/v1/Watchlists/{id}"]


def test_compatibility_table_is_current(smartface: dict[str, Any], served: dict[str, Any]) -> None:
    """Made from both documents: the one the running gateway serves is the one the script builds."""
    assert TABLE.read_text() == render(smartface, served), "run: python -m services.gateway.compatibility"
    assert served_document() == served
    ops = operations(smartface)
    implemented = sum(1 for op in ops if op in IMPLEMENTED)
    assert f"**{implemented} of {len(ops)} SmartFace operations implemented**" in TABLE.read_text()


def test_every_operation_not_implemented_says_why(smartface: dict[str, Any]) -> None:
    """A reason or what brings it on every other row, and no note left over for an operation
    that has been implemented since (it would still claim something is missing)."""
    rest = [op for op in operations(smartface) if op not in IMPLEMENTED]
    assert all(status(op)[1] and status(op)[1] != "not yet scheduled" for op in rest), [
        op for op in rest if status(op)[1] in ("", "not yet scheduled")
    ]
    stale = [key for key in OUT_OF_SCOPE if not any(key in path for _, path in rest)]
    stale += [prefix for prefix in PLANNED if not any(path.startswith(prefix) for _, path in rest)]
    assert not stale, f"notes that name no missing operation: {stale}"
    # A difference is noted on an operation Facegate implements, in one table cell.
    assert set(DIFFERENCES) <= IMPLEMENTED, set(DIFFERENCES) - IMPLEMENTED
    assert not [note for note in DIFFERENCES.values() if "|" in note or "\n" in note]


# The comparison must catch what would break a client; shown on doctored copies of the served document.


def doctored(served: dict[str, Any], schema: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = copy.deepcopy(served)
    return doc, resolve(doc, {"$ref": f"#/components/schemas/{schema}"})


def test_a_renamed_response_field_fails(smartface: dict[str, Any], served: dict[str, Any]) -> None:
    doc, watchlist = doctored(served, "Watchlist")
    watchlist["properties"]["name"] = watchlist["properties"].pop("displayName")
    watchlist["required"] = ["name" if r == "displayName" else r for r in watchlist["required"]]
    assert compare_operation(smartface, served, "GET", "/api/v1/Watchlists/{id}") == []
    problems = compare_operation(smartface, doc, "GET", "/api/v1/Watchlists/{id}")
    assert problems == ["GET /api/v1/Watchlists/{id} -> 200.displayName: missing (SmartFace requires it)"]
    # The same schema nested in a paged answer is caught with its path.
    paged = compare_operation(smartface, doc, "GET", "/api/v1/Watchlists")
    assert "GET /api/v1/Watchlists -> 200.items[].displayName: missing (SmartFace requires it)" in paged


def test_a_wrong_type_a_missing_body_field_and_a_wrong_status_fail(
    smartface: dict[str, Any], served: dict[str, Any]
) -> None:
    doc, watchlist = doctored(served, "Watchlist")
    watchlist["properties"]["threshold"] = {"type": "string"}
    request = resolve(doc, {"$ref": "#/components/schemas/WatchlistCreateRequest"})
    del request["properties"]["previewColor"]
    create = doc["paths"]["/api/v1/Watchlists"]["post"]
    create["responses"]["200"] = create["responses"].pop("201")
    problems = compare_operation(smartface, doc, "POST", "/api/v1/Watchlists")
    assert "POST /api/v1/Watchlists body.previewColor: not accepted" in problems
    assert "POST /api/v1/Watchlists: success status 200 where SmartFace answers 201" in problems
    assert compare_operation(smartface, doc, "GET", "/api/v1/Watchlists/{id}") == [
        "GET /api/v1/Watchlists/{id} -> 200.threshold: type ['string'] where SmartFace has ['integer']"
    ]


def test_a_missing_query_parameter_and_operation_fail(smartface: dict[str, Any], served: dict[str, Any]) -> None:
    doc = copy.deepcopy(served)
    listing = doc["paths"]["/api/v1/Watchlists"]["get"]
    listing["parameters"] = [p for p in listing["parameters"] if p["name"] != "ShowTotalCount"]
    del doc["paths"]["/api/v1/Watchlists/{id}"]["delete"]
    assert compare_operation(smartface, doc, "GET", "/api/v1/Watchlists") == [
        "GET /api/v1/Watchlists: query parameter ShowTotalCount missing"
    ]
    assert compare_operation(smartface, doc, "DELETE", "/api/v1/Watchlists/{id}") == [
        "DELETE /api/v1/Watchlists/{id}: not served"
    ]


def test_a_changed_enum_and_a_newly_required_request_field_fail(
    smartface: dict[str, Any], served: dict[str, Any]
) -> None:
    """Same enum values in answers; nothing required of a client that SmartFace lets it leave out."""
    doc = copy.deepcopy(served)
    answer = doc["paths"]["/api/v1/Frames/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    state = resolve(doc, resolve(doc, answer["schema"])["properties"]["state"])
    assert sorted(state["enum"]) == ["Error", "New", "Processed", "Processing"]
    state["enum"] = ["Error", "New", "Done", "Processing"]
    assert compare_operation(smartface, doc, "GET", "/api/v1/Frames/{id}") == [
        "GET /api/v1/Frames/{id} -> 200.state: enum ['Done', 'Error', 'New', 'Processing']"
        " where SmartFace has ['Error', 'New', 'Processed', 'Processing']"
    ]
    request = resolve(doc, {"$ref": "#/components/schemas/WatchlistCreateRequest"})
    assert "previewColor" not in request.get("required", [])
    request["required"] = [*request.get("required", []), "previewColor"]
    assert compare_operation(smartface, doc, "POST", "/api/v1/Watchlists") == [
        "POST /api/v1/Watchlists body.previewColor: required where SmartFace does not require it"
    ]


def test_a_query_parameter_of_the_wrong_type_or_newly_required_fails(
    smartface: dict[str, Any], served: dict[str, Any]
) -> None:
    doc = copy.deepcopy(served)
    listing = doc["paths"]["/api/v1/Watchlists"]["get"]
    page_size = next(p for p in listing["parameters"] if p["name"] == "PageSize")
    page_size["schema"] = {"type": "string", "enum": ["small", "large"]}
    show_total = next(p for p in listing["parameters"] if p["name"] == "ShowTotalCount")
    show_total["required"] = True
    assert compare_operation(smartface, doc, "GET", "/api/v1/Watchlists") == [
        "GET /api/v1/Watchlists: query parameter PageSize: accepts ['string'] where SmartFace sends ['integer']",
        "GET /api/v1/Watchlists: query parameter ShowTotalCount: required where SmartFace does not require it",
    ]


def test_a_status_smartface_does_not_declare_fails(smartface: dict[str, Any], served: dict[str, Any]) -> None:
    """Verify declares no 422 (an image without a face is SmartFace's 400); 503 any client handles."""
    doc = copy.deepcopy(served)
    responses = doc["paths"]["/api/v1/Faces/Verify"]["post"]["responses"]
    assert "400" in responses and "503" in responses
    responses["422"] = responses["400"]
    assert compare_operation(smartface, doc, "POST", "/api/v1/Faces/Verify") == [
        "POST /api/v1/Faces/Verify: answers 422, which SmartFace does not declare"
    ]
