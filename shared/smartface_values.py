"""The values SmartFace accepts for its string settings: resource ids, save strategies and
validation modes, one table per field and kind of operation, as SmartFace's OpenAPI descriptions
list them (../shared/design/smartface-values.md, SmartFace v5_4.40.1). README ("Resource ids")
says what Facegate runs for each.

Leniency, the same for every field: a value matches in any letter case (it is stored as sent);
a "_remote" suffix may be added or left out (a remote unit is, for Facegate, whichever replica
answers, so `cpu` and `cpu_remote` run the same); "cuda" names the GPU as it always has in
Facegate. Save strategies also take SmartFace's own defaults, which its list leaves out:
"FirstFace, BestFace" (faces) and "Best" (pedestrians, objects), flag names alone or joined by
", " as .NET writes flags.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.errors import ValidationFailed

_LIVENESS = tuple(f"liveness_{kind}_{unit}_remote" for kind in ("distant", "nearby") for unit in ("cpu", "gpu", "any"))
_SAVE = ("Balanced", "None", "All", "MatchedOnly")

# Identification requests: Register, AddNewFace, Search, Verify, SpoofCheck.
IDENTIFICATION: Mapping[str, tuple[str, ...]] = {
    "faceDetectorResourceId": ("cpu", "gpu", "any", "accurate_cpu", "accurate_gpu", "accurate_any"),
    "templateGeneratorResourceId": ("cpu", "gpu", "any"),
    # SpoofCheck's list leaves out "none", Search's has it; both take it (no check is made).
    "spoofDetectorResourceIds": ("none", *_LIVENESS),
    "faceValidationMode": ("none", "predefined"),
}

# Cameras (POST and PUT /api/v1/Cameras).
CAMERA: Mapping[str, tuple[str, ...]] = {
    "faceDetectorResourceId": (
        "none",
        "cpu",
        "gpu",
        "accurate_cpu",
        "accurate_gpu",
        "cpu_remote",
        "gpu_remote",
        "any_remote",
        "accurate_cpu_remote",
        "accurate_gpu_remote",
        "accurate_any_remote",
    ),
    "templateGeneratorResourceId": ("cpu", "gpu", "any"),
    "spoofDetectorResourceIds": ("none", *_LIVENESS),
    "pedestrianDetectorResourceId": (
        "none",
        "cpu_remote",
        "gpu_remote",
        "any_remote",
        "sfe_object_cpu_remote",
        "sfe_object_gpu_remote",
        "sfe_object_any_remote",
    ),
    "pedestrianExtractorResourceId": ("cpu", "gpu", "any", "none"),
    "objectDetectorResourceId": ("none", "sfe_object_cpu_remote", "sfe_object_gpu_remote", "sfe_object_any_remote"),
    "palmDetectorResourceId": ("none", "cpu"),
    "palmTemplateGeneratorResourceId": ("cpu",),
    "palmSpoofDetectorResourceIds": ("none", "liveness_any_remote"),
    "faceSaveStrategy": _SAVE,
    "pedestrianSaveStrategy": ("Balanced", "None", "All"),
    "objectSaveStrategy": _SAVE,
}

# Edge streams (POST and PUT /api/v1/EdgeStreams).
EDGE_STREAM: Mapping[str, tuple[str, ...]] = {
    "templateGeneratorResourceId": ("cpu", "gpu", "any"),
    "spoofDetectorResourceIds": ("none", *_LIVENESS),
    "palmSpoofDetectorResourceIds": ("none", "liveness_any_remote"),
    "faceSaveStrategy": _SAVE,
    "pedestrianSaveStrategy": ("Balanced", "None", "All"),
    "objectSaveStrategy": _SAVE,
}

# POST /api/v1/Detect: SmartFace's detection units only ("none": that kind is not looked for).
_SFE_OBJECT = ("none", "sfe_object_cpu_remote", "sfe_object_gpu_remote", "sfe_object_any_remote")
DETECT: Mapping[str, tuple[str, ...]] = {
    "pedestrianDetectorResourceId": _SFE_OBJECT,
    "objectDetectorResourceId": _SFE_OBJECT,
}

# Flag names a save strategy may also be made of (SmartFace's defaults use them).
SAVE_FLAGS: Mapping[str, tuple[str, ...]] = {
    "faceSaveStrategy": ("FirstFace", "BestFace"),
    "pedestrianSaveStrategy": ("First", "Best"),
    "objectSaveStrategy": ("First", "Best"),
}

_ALIASES = {"cuda": "gpu"}


def canonical(value: str) -> str:
    """How a value is compared: lower case, without "_remote", "cuda" as "gpu"."""
    lowered = value.strip().lower().removesuffix("_remote")
    return _ALIASES.get(lowered, lowered)


def runs(resource_id: str | None) -> bool:
    """Whether a resource id asks for its step at all ("none" does not; None is the default)."""
    return resource_id is None or canonical(resource_id) != "none"


def is_accepted(table: Mapping[str, tuple[str, ...]], field: str, value: str) -> bool:
    """Whether `value` is one SmartFace accepts for `field` (a name of `table`), leniently."""
    if canonical(value) in {canonical(v) for v in table[field]}:
        return True
    flags = {f.lower() for f in SAVE_FLAGS.get(field, ())}
    parts = [p.strip().lower() for p in value.split(",")]
    return bool(flags) and all(p in flags for p in parts)


def check(table: Mapping[str, tuple[str, ...]], path: str, value: str | None) -> None:
    """A 400 listing the accepted values when `value` is not one of them. `path` is the field as
    the client names it ("probeImage.faceDetectorResourceId"); its last part names the table's
    field. None means the default and passes."""
    if value is None:
        return
    field = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if is_accepted(table, field, value):
        return
    listed = ", ".join((*table[field], *(f"{f} (alone or joined by ', ')" for f in SAVE_FLAGS.get(field, ()))))
    why = "this operation needs it" if canonical(value) == "none" else "not a value SmartFace accepts here"
    raise ValidationFailed(
        f"{path} '{value}': {why}; use one of {listed}.",
        errors={path: [f"'{value}' is not one of {listed}"]},
    )
