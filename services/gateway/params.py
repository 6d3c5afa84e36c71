"""Path parameters shared by the controllers."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from shared.messages.gallery import ID_PATTERN

# Ids are the caller's strings (GUIDs or custom ids); one that could never be stored or addressed
# (a NUL or another control character, '\\', '.', '..', or longer than any id: the rules of `Id`)
# is refused with 400 before it reaches a worker.
EntityId = Annotated[str, Parameter(min_length=1, max_length=256, pattern=ID_PATTERN, description="id of the object")]
