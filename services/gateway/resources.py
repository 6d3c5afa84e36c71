"""Resource ids of the identification requests (`faceDetectorResourceId`,
`templateGeneratorResourceId`): SmartFace names the processing unit per request ("cpu", "gpu"; a "_remote"
suffix names a remote unit). Facegate's workers each run on the execution provider their
setting and the host allow (FACEGATE_EXECUTION_PROVIDER, CUDA only where onnxruntime offers
it), so every valid id is served by whichever replica answers; an unknown id, or "none" where
the operation needs that step, is a 400 rather than silently ignored.
"""

from __future__ import annotations

from shared.errors import ValidationFailed

RESOURCE_IDS = ("cpu", "gpu", "cuda")


def check_resources(**ids: str | None) -> None:
    """Each given face detector / template generator resource id (camelCase name = value) must be
    cpu, gpu or cuda (optionally with SmartFace's "_remote" suffix); None means the default."""
    for field, rid in ids.items():
        if rid is None:
            continue
        unit = rid.lower().removesuffix("_remote")
        if unit in RESOURCE_IDS:
            continue
        why = "this operation needs it" if unit == "none" else "unknown resource id"
        raise ValidationFailed(
            f"{field} '{rid}': {why}; use cpu, gpu or cuda (each served on the execution provider the "
            "workers run with).",
            errors={field: [f"{why}: '{rid}'"]},
        )
