"""A typed SmartFace client generated at test time from SmartFace's own OpenAPI document by
openapi-python-client (a real generator from PyPI, pinned in the `test` extra: see there why
that version), as a SmartFace user would generate one. Nothing of it is committed: it is written
under the test's temporary folder and imported from there.

The generated code is used unchanged. Two generator settings only: no formatting hook (speed),
and `content_type_overrides`, the generator's documented way to read media types it has no
parser for: `image/jpeg` (Images/{id}) as bytes, `text/json` (a request body type) as JSON.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from services.gateway.compatibility import SMARTFACE_OPENAPI

Operation = tuple[str, str]  # (METHOD, path as SmartFace's document writes it)

PACKAGE = "smartface_generated_client"
GENERATOR_CONFIG = """\
post_hooks: []
content_type_overrides:
  image/jpeg: application/octet-stream
  image/png: application/octet-stream
  text/json: application/json
"""


class UnexpectedAnswer(AssertionError):
    """An answer a SmartFace client would not expect: a status SmartFace's document does not
    declare for the operation (the generated client raises on it), or another declared status
    than the scenario expects."""


def generate(folder: Path) -> ModuleType:
    """Generate the client into `folder` and import it (its folder joins sys.path)."""
    config = folder / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    command = [
        sys.executable, "-m", "openapi_python_client", "generate", "--path", str(SMARTFACE_OPENAPI),
        "--meta", "none", "--output-path", str(folder / PACKAGE), "--config", str(config),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"openapi-python-client failed:\n{done.stdout}\n{done.stderr}"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(PACKAGE)


def operation_modules(package: ModuleType) -> dict[Operation, str]:
    """Every generated operation module by (METHOD, path), read from the module's own source."""
    found: dict[Operation, str] = {}
    for source in sorted((Path(next(iter(package.__path__))) / "api").glob("*/*.py")):
        text = source.read_text()
        method, url = re.search(r'"method": "(\w+)"', text), re.search(r'"url": "([^"]+)"', text)
        if method and url:
            found[(method.group(1).upper(), url.group(1))] = (
                f"{package.__name__}.api.{source.parent.name}.{source.stem}"
            )
    return found


class SmartFace:
    """The generated client against one base URL; `call` drives an operation and records it."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.models: Any = importlib.import_module(f"{package.__name__}.models")
        self.errors: Any = importlib.import_module(f"{package.__name__}.errors")
        self.client: Any = package.Client(
            base_url=base_url, raise_on_unexpected_status=True, timeout=httpx.Timeout(120)
        )
        self.modules = operation_modules(package)
        self.called: set[Operation] = set()

    def operation(self, method: str, path: str) -> Any:
        """The generated module of an operation (its sync_detailed, sync, _build_response...)."""
        self.called.add((method, path))
        return importlib.import_module(self.modules[(method, path)])

    def call(self, method: str, path: str, expect: int, *args: Any, **kwargs: Any) -> Any:
        """Run the operation's sync_detailed; the parsed answer of status `expect`, else fail
        with the operation, the status and the body."""
        module = self.operation(method, path)
        try:
            response = module.sync_detailed(*args, client=self.client, **kwargs)
        except self.errors.UnexpectedStatus as exc:
            raise UnexpectedAnswer(undeclared(method, path, exc.status_code, exc.content)) from None
        return checked(method, path, expect, response)

    def raw(self, method: str, path: str, expect: int, url: str, **request: Any) -> Any:
        """Send a request the typed models cannot express (e.g. a number where the document
        says string) through the client's own httpx client, then parse the answer with the
        operation's generated code as `call` does."""
        module = self.operation(method, path)
        answer = self.client.get_httpx_client().request(method, url, **request)
        try:
            response = module._build_response(client=self.client, response=answer)
        except self.errors.UnexpectedStatus as exc:
            raise UnexpectedAnswer(undeclared(method, path, exc.status_code, exc.content)) from None
        return checked(method, path, expect, response)


def undeclared(method: str, path: str, status: int, body: bytes) -> str:
    return f"{method} {path}: {status} is not a status SmartFace's document declares: {body[:2000]!r}"


def checked(method: str, path: str, expect: int, response: Any) -> Any:
    if response.status_code != expect:
        raise UnexpectedAnswer(
            f"{method} {path}: {response.status_code}, expected {expect}: {response.content[:2000]!r}"
        )
    if expect < 300 and response.content and response.headers.get("content-type", "").startswith("application/json"):
        known_fields(method, path, response.parsed, httpx.Response(200, content=response.content).json())
    return response.parsed


# Fields SmartFace's document lists as required of a schema without defining them (so a generated
# model cannot know them): VideoRecord's `description`, which its create and update requests define.
DECLARED_UNDEFINED = {"VideoRecord": {"description"}}


def known_fields(method: str, path: str, parsed: Any, body: Any) -> None:
    """Every field of the answer is one the generated model knows (none is dropped unseen)."""
    if isinstance(body, list):
        for model, item in zip(parsed, body, strict=True):
            known_fields(method, path, model, item)
    elif isinstance(body, dict) and hasattr(parsed, "to_dict"):
        unknown = set(body) - set(parsed.to_dict()) - DECLARED_UNDEFINED.get(type(parsed).__name__, set())
        assert not unknown, f"{method} {path}: fields the SmartFace models do not have: {sorted(unknown)}"
