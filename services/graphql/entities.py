"""Where each GraphQL type's data lives in Postgres: the whitelist the SQL compiler builds from.

Every column name, expression and join in a query comes from this map (templates with `{t}`
for the table's alias), never from a request: a field that is not here has no data in Facegate
and reads as NULL (filters on it compare with NULL, a relation that is not here is empty).
Fields of a type that are not listed read the entity's jsonb column (`json`), by the field's
snake_case name (camera faces, member faces) or its own camelCase name (match results).

SmartFace calls a camera a stream (`streamId`, and the scope of its tracklets and frames).
Members' faces live in a tracklet of their own in SmartFace (`WatchlistMember.trackletId` is
never null): here that tracklet is the member's row itself under a GUID derived from the
member id (`member_tracklet_id`, which REST's member faces carry too), so it needs no table
and is the same on every replica.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.messages.identification import MEMBER_TRACKLET_SALT

# The member's tracklet id in SQL; shared.messages.identification.member_tracklet_id in Python.
MEMBER_TRACKLET_SQL = f"md5('{MEMBER_TRACKLET_SALT}' || {{m}})::uuid"


@dataclass(frozen=True)
class Relation:
    """Rows of `target` that belong to a parent row: `child_key` (an expression over the
    child's alias `{c}`, or `{v}` of the `via` join) equals the parent's field `parent_field`."""

    target: str
    many: bool
    parent_field: str
    child_key: str
    via: str = ""


@dataclass(frozen=True)
class Entity:
    """A GraphQL object type backed by one table (or a view of it)."""

    name: str  # the key in ENTITIES
    type_name: str  # the GraphQL type
    source: str
    fields: dict[str, str]
    relations: dict[str, Relation] = field(default_factory=dict)
    json: str | None = None  # the jsonb column holding the fields that are not listed
    json_camel: bool = False  # its keys are camelCase (else snake_case)
    # SQL types of fields whose expression is not of the GraphQL field's type (text ids).
    sql_types: dict[str, str] = field(default_factory=dict)
    order: tuple[str, ...] = ("{t}.created_at", "{t}.id")  # default order, and the tie-break


def _json(column: str, key: str, sql_type: str) -> str:
    text = f"{{t}}.{column}->>'{key}'"
    return text if sql_type == "text" else f"({text})::{sql_type}"


MEMBER_TRACKLET = MEMBER_TRACKLET_SQL.format(m="{t}.id")

WATCHLIST = Entity(
    name="Watchlist",
    type_name="Watchlist",
    source="watchlists",
    fields={
        "id": "{t}.id",
        "displayName": "{t}.display_name",
        "fullName": "{t}.full_name",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "threshold": "{t}.threshold",
        "previewColor": "{t}.preview_color",
    },
    relations={
        "watchlistMembers": Relation(
            "WatchlistMember", True, "id", "{v}.watchlist_id", via="JOIN watchlist_links {v} ON {v}.member_id = {c}.id"
        ),
        "matchResults": Relation("MatchResult", True, "id", "{c}.watchlist_id"),
    },
)

WATCHLIST_MEMBER = Entity(
    name="WatchlistMember",
    type_name="WatchlistMember",
    source="watchlist_members",
    fields={
        "id": "{t}.id",
        "displayName": "{t}.display_name",
        "fullName": "{t}.full_name",
        "note": "{t}.note",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "trackletId": MEMBER_TRACKLET,
        "_labels": "{t}.labels",
    },
    relations={
        "watchlists": Relation(
            "Watchlist", True, "id", "{v}.member_id", via="JOIN watchlist_links {v} ON {v}.watchlist_id = {c}.id"
        ),
        "tracklet": Relation("MemberTracklet", False, "id", "{c}.id"),
        "matchResults": Relation("MatchResult", True, "id", "{c}.watchlist_member_id"),
        # Labels are a jsonb array in the member's row: filtered in SQL by jsonb_to_recordset.
        "labels": Relation("WatchlistMemberLabel", True, "", ""),
    },
)

# A member's labels, `jsonb_to_recordset` of its row (see sql.py); answered from the row itself.
LABEL = Entity(
    name="WatchlistMemberLabel",
    type_name="WatchlistMemberLabel",
    source="",
    fields={"key": "{t}.key", "value": "{t}.value"},
    order=("{t}.key",),
)

CAMERA_FACE_FIELDS = {
    "id": "{t}.id", "trackletId": "{t}.tracklet_id", "frameId": "{t}.frame_id", "imageDataId": "{t}.image_id",
    "streamId": "{t}.camera_id", "createdAt": "{t}.created_at", "updatedAt": "{t}.updated_at",
    "faceState": _json("face", "state", "text"), "faceType": _json("face", "type", "text"),
    "genderFormatted": "CASE WHEN ({t}.face->>'gender')::float8 >= 0.5 THEN 'Female' "
    "WHEN ({t}.face->>'gender')::float8 < 0.5 THEN 'Male' END",
}  # fmt: skip

FACE = Entity(
    name="Face",
    type_name="Face",
    source="seen_faces",
    fields=CAMERA_FACE_FIELDS,
    json="face",
    relations={
        "tracklet": Relation("Tracklet", False, "trackletId", "{c}.id"),
        "frame": Relation("Frame", False, "frameId", "{c}.id"),
        "matchResults": Relation("MatchResult", True, "id", "{c}.face_id"),
        "searchSessionObjects": Relation("SearchSessionObject", True, "id", "{c}.face_id"),
    },
)

# A member's registration faces, as SmartFace's Face (the REST answer's defaults: an extracted
# regular face, processed when stored, no camera or frame; its image, as REST's imageDataId).
MEMBER_FACE = Entity(
    name="MemberFace",
    type_name="Face",
    source="member_faces",
    fields={
        "id": "{t}.id",
        "trackletId": MEMBER_TRACKLET_SQL.format(m="{t}.member_id"),
        "createdAt": "{t}.created_at",
        "updatedAt": "NULL::timestamptz",
        "imageDataId": "{t}.image_id",
        "frameId": "NULL::uuid",
        "streamId": "NULL::uuid",
        "processedAt": "coalesce(({t}.face->>'processed_at')::timestamptz, {t}.created_at)",
        "state": "coalesce({t}.face->>'state', 'Extracted')",
        "faceState": "coalesce({t}.face->>'state', 'Extracted')",
        "type": "coalesce({t}.face->>'type', 'Regular')",
        "faceType": "coalesce({t}.face->>'type', 'Regular')",
        "faceMaskStatus": "coalesce({t}.face->>'face_mask_status', 'Unknown')",
        "genderFormatted": CAMERA_FACE_FIELDS["genderFormatted"],
        "_memberId": "{t}.member_id",
    },
    json="face",
    sql_types={"id": "text"},
    relations={"tracklet": Relation("MemberTracklet", False, "_memberId", "{c}.id")},
)

TRACKLET = Entity(
    name="Tracklet",
    type_name="Tracklet",
    source="seen_tracklets",
    fields={
        "id": "{t}.id",
        "streamId": "{t}.camera_id",
        "scopeId": "{t}.camera_id",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "timeAppeared": "{t}.time_appeared",
        "timeDisappeared": "{t}.time_disappeared",
        "timeAppearedRelativeMs": "{t}.appeared_ms",
        "timeDisappearedRelativeMs": "{t}.disappeared_ms",
    },
    relations={
        "faces": Relation("Face", True, "id", "{c}.tracklet_id"),
        "pedestrians": Relation("Pedestrian", True, "id", "{c}.tracklet_id"),
        "genericObjects": Relation("GenericObject", True, "id", "{c}.tracklet_id"),
        "matchResults": Relation("MatchResult", True, "id", "{c}.tracklet_id"),
        "individuals": Relation(
            "Individual",
            True,
            "id",
            "{v}.tracklet_id",
            via="JOIN individual_tracklets {v} ON {v}.individual_id = {c}.id",
        ),
    },
)

# The tracklet holding a member's faces: the member's own row, seen as a tracklet.
MEMBER_TRACKLET_ENTITY = Entity(
    name="MemberTracklet",
    type_name="Tracklet",
    source="watchlist_members",
    fields={
        "id": MEMBER_TRACKLET,
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "timeAppeared": "{t}.created_at",
        "timeDisappeared": "{t}.created_at",
        "timeAppearedRelativeMs": "0::bigint",
        "timeDisappearedRelativeMs": "0::bigint",
        "_memberId": "{t}.id",
    },
    relations={
        "faces": Relation("MemberFace", True, "_memberId", "{c}.member_id"),
        "watchlistMembers": Relation("WatchlistMember", True, "_memberId", "{c}.id"),
    },
)

FRAME = Entity(
    name="Frame",
    type_name="Frame",
    source="seen_frames",
    fields={
        "id": "{t}.id",
        "state": "{t}.state",
        "streamId": "{t}.camera_id",
        "scopeId": "{t}.camera_id",
        "imageDataId": "{t}.image_id",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "receivedAt": "{t}.received_at",
        "positionInMs": "{t}.position_ms",
    },
    relations={
        "faces": Relation("Face", True, "id", "{c}.frame_id"),
        "pedestrians": Relation("Pedestrian", True, "id", "{c}.frame_id"),
        "genericObjects": Relation("GenericObject", True, "id", "{c}.frame_id"),
    },
)

MATCH_RESULT = Entity(
    name="MatchResult",
    type_name="MatchResult",
    source="seen_match_results",
    fields={
        "id": "{t}.id",
        "streamId": "{t}.camera_id",
        "trackletId": "{t}.tracklet_id",
        "faceId": "{t}.face_id",
        "watchlistMemberId": "{t}.watchlist_member_id",
        "watchlistId": "{t}.watchlist_id",
        "score": "{t}.score",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
    },
    json="result",
    json_camel=True,
    relations={
        "watchlistMember": Relation("WatchlistMember", False, "watchlistMemberId", "{c}.id"),
        "watchlist": Relation("Watchlist", False, "watchlistId", "{c}.id"),
        "frame": Relation("Frame", False, "frameId", "{c}.id"),
        "tracklet": Relation("Tracklet", False, "trackletId", "{c}.id"),
        "face": Relation("Face", False, "faceId", "{c}.id"),
    },
)


# The people groupings found (the grouping service's tables). SmartFace numbers its groupings
# (`groupingMetadataId: Long!`); Facegate's are GUIDs, so the number is a hash of the grouping's
# id: the same for every individual of one grouping, on every replica.
INDIVIDUAL = Entity(
    name="Individual",
    type_name="Individual",
    source="individuals",
    fields={
        "id": "{t}.id",
        "groupingMetadataId": "abs(hashtextextended({t}.grouping_id::text, 0))",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "entranceTime": "{t}.entrance_time",
        "exitTime": "{t}.exit_time",
        "bestFaceId": "{t}.best_face_id",
        "hidden": "false",
    },
    relations={
        "tracklets": Relation(
            "Tracklet", True, "id", "{v}.individual_id", via="JOIN individual_tracklets {v} ON {v}.tracklet_id = {c}.id"
        ),
        "faces": Relation(
            "Face",
            True,
            "id",
            "{v}.individual_id",
            via="JOIN individual_tracklets {v} ON {v}.tracklet_id = {c}.tracklet_id",
        ),
        "bestFace": Relation("Face", False, "bestFaceId", "{c}.id"),
    },
)


# Faces/Search sessions and the camera faces they found (the matcher's tables, migration 0070);
# a session's objects come best first unless ordered otherwise.
SEARCH_SESSION = Entity(
    name="SearchSession",
    type_name="SearchSession",
    source="search_sessions",
    fields={
        "id": "{t}.id",
        "threshold": "{t}.threshold",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
    },
    relations={"searchSessionObjects": Relation("SearchSessionObject", True, "id", "{c}.search_session_id")},
)

SEARCH_SESSION_OBJECT = Entity(
    name="SearchSessionObject",
    type_name="SearchSessionObject",
    source="search_session_objects",
    fields={"searchSessionId": "{t}.search_session_id", "visualObjectId": "{t}.face_id", "score": "{t}.score"},
    relations={"face": Relation("Face", False, "visualObjectId", "{c}.id")},
    order=("(-{t}.similarity)", "{t}.face_id"),
)

# Pedestrians and objects cameras stored (camera_ingest's, migration 0080): their columns, the
# rest of SmartFace's fields from the jsonb by snake_case name. `objectType` is SmartFace's
# ObjectType of the detection (pedestrian 2, generic object 3, as faces are 1).
_SEEN_BODY_FIELDS = {
    "id": "{t}.id", "trackletId": "{t}.tracklet_id", "frameId": "{t}.frame_id", "imageDataId": "{t}.image_id",
    "streamId": "{t}.camera_id", "createdAt": "{t}.created_at", "updatedAt": "{t}.updated_at",
}  # fmt: skip

PEDESTRIAN = Entity(
    name="Pedestrian",
    type_name="Pedestrian",
    source="seen_pedestrians",
    fields={**_SEEN_BODY_FIELDS, "objectType": "2", "pose": "'UNSPECIFIED'"},
    json="pedestrian",
    relations={
        "tracklet": Relation("Tracklet", False, "trackletId", "{c}.id"),
        "frame": Relation("Frame", False, "frameId", "{c}.id"),
    },
)

GENERIC_OBJECT = Entity(
    name="GenericObject",
    type_name="GenericObject",
    source="seen_objects",
    fields={**_SEEN_BODY_FIELDS, "objectType": "3", "genericObjectType": "{t}.object_type"},
    json="object",
    relations={
        "tracklet": Relation("Tracklet", False, "trackletId", "{c}.id"),
        "frame": Relation("Frame", False, "frameId", "{c}.id"),
    },
)


def _camera(path: str, sql_type: str) -> str:
    """A field of the camera's stored REST answer (`config`, JSON text): `a.b` is a nested key."""
    keys = path.split(".")
    walk = "".join(f"->'{k}'" for k in keys[:-1]) + f"->>'{keys[-1]}'"
    text = f"({{t}}.config::jsonb){walk}"
    return text if sql_type == "text" else f"({text})::{sql_type}"


_RENDER = ["order", "size", "quality", "yawAngle", "pitchAngle", "rollAngle", "watchlistMemberId",
           "watchlistMemberName", "watchlistName", "matchingScore", "age", "gender", "templateQuality",
           "faceMaskStatus", "faceMaskConfidence", "sharpness", "brightness", "tintedGlasses", "heavyFrame",
           "glassStatus"]  # fmt: skip
_DETECT = ["Car", "Bus", "Truck", "Motorcycle", "Bicycle", "Boat", "Airplane", "Train", "Bird", "Cat", "Dog", "Horse",
           "Sheep", "Cow", "Bear", "Elephant", "Giraffe", "Zebra", "Suitcase", "Backpack", "Handbag", "Umbrella",
           "Knife"]  # fmt: skip

_OBJECT_TYPES = "objectDetectorConfig.objectTypesConfiguration"

CAMERA = Entity(
    name="Camera",
    type_name="Camera",
    source="cameras",
    fields={
        "id": "{t}.id",
        "streamId": "{t}.id",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "source": "{t}.source",
        "redetectionTime": "{t}.interval_ms",
        "mPEG1PreviewPort": "{t}.preview_port",
        "trackMinFaceSize": _camera("faceDetectorConfig.minFaceSize", "int"),
        "trackMaxFaceSize": _camera("faceDetectorConfig.maxFaceSize", "int"),
        "maxTrackingFaces": _camera("faceDetectorConfig.maxFaces", "int"),
        "faceDetectionConfidenceThreshold": _camera("faceDetectorConfig.confidenceThreshold", "int"),
        "trackMinPedestrianSize": _camera("pedestrianDetectorConfig.minPedestrianSize", "float8"),
        "trackMaxPedestrianSize": _camera("pedestrianDetectorConfig.maxPedestrianSize", "float8"),
        "maxTrackingPedestrians": _camera("pedestrianDetectorConfig.maxPedestrians", "int"),
        "pedestrianDetectionConfidenceThreshold": _camera("pedestrianDetectorConfig.confidenceThreshold", "int"),
        "trackMinObjectSize": _camera("objectDetectorConfig.minObjectSize", "float8"),
        "trackMaxObjectSize": _camera("objectDetectorConfig.maxObjectSize", "float8"),
        "maxTrackingObjects": _camera("objectDetectorConfig.maxObjects", "int"),
        "objectDetectionConfidenceThreshold": _camera("objectDetectorConfig.confidenceThreshold", "int"),
        "spoofDetectorExternalScoreThreshold": _camera("spoofDetectorConfig.externalScoreThreshold", "float8"),
        "spoofDetectorDistantLivenessScoreThreshold": _camera(
            "spoofDetectorConfig.distantLivenessScoreThreshold", "float8"
        ),
        "spoofDetectorNearbyLivenessScoreThreshold": _camera(
            "spoofDetectorConfig.nearbyLivenessScoreThreshold", "float8"
        ),
        "spoofDetectorDistantLivenessConditions": _camera("spoofDetectorConfig.distantLivenessConditions", "text"),
        "spoofDetectorNearbyLivenessConditions": _camera("spoofDetectorConfig.nearbyLivenessConditions", "text"),
        **{
            name: _camera(name, "text")
            for name in (
                "faceDetectorResourceId",
                "templateGeneratorResourceId",
                "pedestrianDetectorResourceId",
                "objectDetectorResourceId",
                "pedestrianExtractorResourceId",
                "trackMotionOptimization",
                "trackSpeedAccuracyMode",
                "faceSaveStrategy",
                "pedestrianSaveStrategy",
                "objectSaveStrategy",
                "maskImagePath",
            )
        },
        "templateGenerationTime": _camera("templateGenerationTime", "int"),
        "saveFrameImageData": _camera("saveFrameImageData", "bool"),
        "imageQuality": _camera("imageQuality", "int"),
        "mPEG1VideoBitrate": _camera("mpeG1VideoBitrate", "int"),
        "mPEG1PreviewEnabled": _camera("mpeG1PreviewEnabled", "bool"),
        "previewMaxDimension": _camera("previewMaxDimension", "int"),
        "textFontSize": _camera("previewAttributesConfig.textFontSize", "int"),
        **{f"render{n[0].upper()}{n[1:]}": _camera(f"previewAttributesConfig.{n}", "bool") for n in _RENDER},
        **{f"detect{n}": _camera(f"{_OBJECT_TYPES}.detect{n}", "bool") for n in _DETECT},
    },
)

# A video record: its columns and its stored settings (`config`, JSON text, as a camera's); its
# stream id is its own id (what it produced carries it).
VIDEO_RECORD = Entity(
    name="VideoRecord",
    type_name="VideoRecord",
    source="video_records",
    fields={
        "id": "{t}.id",
        "streamId": "{t}.id",
        "state": "{t}.state",
        "source": "{t}.source",
        "enabled": "{t}.enabled",
        "minFaceSize": _camera("faceDetectorConfig.minFaceSize", "int"),
        "maxFaceSize": _camera("faceDetectorConfig.maxFaceSize", "int"),
        "maxFaces": _camera("faceDetectorConfig.maxFaces", "int"),
        "confidenceThreshold": _camera("faceDetectorConfig.confidenceThreshold", "int"),
        "redetectionTime": "{t}.interval_ms",
        "templateGenerationTime": _camera("templateGenerationTime", "int"),
        # "FirstFace, BestFace" is the enum's FIRST_FACE_BEST_FACE (FirstFaceBestFace).
        "faceSaveStrategy": f"replace({_camera('faceSaveStrategy', 'text')}, ', ', '')",
        "maskImagePath": _camera("maskImagePath", "text"),
        "saveFrameImageData": _camera("saveFrameImageData", "bool"),
        "imageQuality": _camera("imageQuality", "int"),
        "recordedAt": "{t}.recorded_at",
        "videoDurationMs": "{t}.duration_ms",
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "matchDetectedFaces": _camera("matchingConfig.matchDetectedFaces", "bool"),
        "matchMaxResultsCount": _camera("matchingConfig.maxResultsCount", "int"),
        "description": _camera("description", "text"),
        "processingStartTime": "{t}.processing_started_at",
        "processingDurationMs": "{t}.processing_ms",
    },
)

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (WATCHLIST, WATCHLIST_MEMBER, LABEL, FACE, MEMBER_FACE, TRACKLET, MEMBER_TRACKLET_ENTITY, FRAME,
              MATCH_RESULT, CAMERA, VIDEO_RECORD, INDIVIDUAL, SEARCH_SESSION, SEARCH_SESSION_OBJECT, PEDESTRIAN,
              GENERIC_OBJECT)
}  # fmt: skip

# The entity each query root reads.
ROOTS: dict[str, str] = {
    "watchlists": "Watchlist", "watchlistMembers": "WatchlistMember", "faces": "Face", "frames": "Frame",
    "tracklets": "Tracklet", "matchResults": "MatchResult", "cameras": "Camera", "videoRecords": "VideoRecord",
    "individuals": "Individual", "searchSessions": "SearchSession", "pedestrians": "Pedestrian",
    "genericObjects": "GenericObject",
}  # fmt: skip
