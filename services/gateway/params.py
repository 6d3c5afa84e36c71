"""Path parameters shared by the controllers."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from shared.messages.gallery import NO_NUL

# Ids are the caller's strings (GUIDs or custom ids); one that could never be stored (a NUL, or
# longer than any id) is refused with 400 before it reaches a worker.
EntityId = Annotated[str, Parameter(min_length=1, max_length=256, pattern=NO_NUL, description="id of the object")]
