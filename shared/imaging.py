"""Images: decode an upload once into RGB uint8, and the face-chip geometry that the detector
cuts crops with and the extractor's models read them with (one contract, one place).

OpenCV decodes JPEG, PNG, BMP, WebP and TIFF. We ask it for 3 colour channels at any bit
depth (`IMREAD_COLOR | IMREAD_ANYDEPTH`): that applies the EXIF orientation (only
`IMREAD_UNCHANGED` skips it), turns grayscale into 3 equal channels, drops an alpha channel and
keeps 16-bit samples, which we scale down to 8 bits here.

Only those five formats are decoded (OpenCV would also read GIF, JPEG 2000, PNM, HDR and
more, whose sizes we do not check). The pixel count of each is read from its header before
decoding, so a bomb (a 30000x30000 PNG, TIFF or WebP is a few hundred kB on the wire and
gigabytes decoded) is refused without allocating it, with a message giving its size; a header
that cannot be read, or that is ambiguous (a TIFF with its size tags twice), is refused too,
rather than decoded unchecked. That reading is a second parser, though: what bounds memory is
OpenCV's own cap on the size its codec read (shared/image_limits.py), so that no header crafted
to read one way here and another way in the codec can exceed MAX_PIXELS.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from shared.errors import Unprocessable, ValidationFailed
from shared.image_limits import MAX_PIXELS

MIN_SIDE = 8

_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
SUPPORTED = "JPEG, PNG, BMP, WebP, TIFF"


def decode_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode `data` to an HxWx3 RGB uint8 array (EXIF orientation applied).

    Raises ValidationFailed when the bytes are not an image we can read (empty, unknown
    format, unreadable header, truncated or corrupt data) and Unprocessable when the image
    is readable but unusable (too many pixels, smaller than a face could be).
    """
    if not data:
        raise ValidationFailed("The image is empty (0 bytes).", errors={"image": ["empty image"]})
    kind = image_format(data)
    if kind is None:
        raise ValidationFailed(
            f"The data is not an image in a supported format ({SUPPORTED}).",
            errors={"image": ["not a decodable image"]},
        )
    size = header_size(data)
    if size is None:
        raise ValidationFailed(
            f"The {kind} header is unreadable (no single image size found).", errors={"image": ["unreadable header"]}
        )
    _check_size(*size, max_pixels)
    _check_complete(data)
    try:
        # A JPEG straight to RGB (libjpeg-turbo writes it: a 720p camera frame 0.4 ms sooner than
        # BGR and a swap); not the others: OpenCV 5.0 reads a 16-bit TIFF's channels wrong that way.
        rgb = kind == "JPEG"
        flags = (cv2.IMREAD_COLOR_RGB if rgb else cv2.IMREAD_COLOR) | cv2.IMREAD_ANYDEPTH
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        if "CV_IO_MAX_IMAGE_PIXELS" in str(exc):  # the codec read a larger size than our parser
            raise Unprocessable(
                f"The image is larger than {MAX_PIXELS / 1e6:g} megapixels (as its {kind} decoder reads the header)."
            ) from None
        pixels = None  # another refusal of the codec (width or height limits, corrupt header)
    if pixels is None or pixels.size == 0:
        raise ValidationFailed(
            f"The {kind} data is corrupt or truncated (it could not be decoded).",
            errors={"image": ["corrupt image"]},
        )
    _check_size(pixels.shape[1], pixels.shape[0], max_pixels)
    if pixels.dtype == np.uint16:
        pixels = (np.asarray(pixels, np.uint16) >> 8).astype(np.uint8)  # the top 8 bits: what a viewer shows
    elif pixels.dtype != np.uint8:  # float TIFF: assume 0..1
        pixels = np.clip(pixels.astype(np.float32) * 255.0, 0, 255).astype(np.uint8)
    return pixels if rgb else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB, dst=pixels)  # in place: no second copy


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ValidationFailed(f"The image has no pixels ({width}x{height}).", errors={"image": ["zero-size image"]})
    if width * height > max_pixels:
        raise Unprocessable(
            f"The image is {width}x{height} = {width * height / 1e6:.1f} megapixels; "
            f"at most {max_pixels / 1e6:g} megapixels are accepted."
        )
    if min(width, height) < MIN_SIDE:
        raise Unprocessable(f"The image is {width}x{height} pixels: too small to hold a face.")


def _check_complete(data: bytes) -> None:
    """OpenCV decodes a cut-off PNG as grey rows with only a warning; refuse it instead (a cut-off
    JPEG fails to decode and is refused there)."""
    if data.startswith(_PNG) and data.rfind(b"IEND") < 0:
        raise ValidationFailed("The image data is truncated (incomplete file).", errors={"image": ["truncated image"]})


def image_format(data: bytes) -> str | None:
    """'JPEG', 'PNG', 'BMP', 'WebP' or 'TIFF' from the magic bytes; None for anything else."""
    if data.startswith(_JPEG):
        return "JPEG"
    if data.startswith(_PNG):
        return "PNG"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    if data[:4] in _TIFF:
        return "TIFF"
    return None


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a JPEG, PNG, BMP, WebP or TIFF without decoding;
    None for other formats or a header that cannot be read."""
    try:
        kind = image_format(data)
        if kind == "PNG":
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack(">II", data[16:24])
            return int(width), int(height)
        if kind == "JPEG":
            return _jpeg_size(data)
        if kind == "BMP":
            return _bmp_size(data)
        if kind == "WebP":
            return _webp_size(data)
        if kind == "TIFF":
            return _tiff_size(data)
    except (struct.error, IndexError):  # the header is cut short
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:  # stray bytes between segments: libjpeg skips to the next 0xFF too
            pos = data.find(b"\xff", pos)
            if pos < 0:
                return None
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte before a marker
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        # SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    return None


def _bmp_size(data: bytes) -> tuple[int, int]:
    (dib,) = struct.unpack("<I", data[14:18])
    if dib == 12:  # BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<Hh", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return abs(int(width)), abs(int(height))  # a negative height is a top-down bitmap


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: frame tag (3 bytes), start code 9d 01 2a, 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14 bits width-1, 14 bits height-1
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1 and height-1
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first directory (the page OpenCV decodes),
    classic TIFF or BigTIFF; None when either is missing or given twice."""
    order = "<" if data[:2] == b"II" else ">"
    (version,) = struct.unpack(order + "H", data[2:4])
    big = version == 43
    if big:
        (offset,) = struct.unpack(order + "Q", data[8:16])
        (count,) = struct.unpack(order + "Q", data[offset : offset + 8])
        start, entry = offset + 8, 20
    else:
        (offset,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[offset : offset + 2])
        start, entry = offset + 2, 12
    found: dict[int, int] = {}
    for i in range(min(count, 4096)):
        at = start + i * entry
        tag, kind = struct.unpack(order + "HH", data[at : at + 4])
        if tag not in (256, 257):
            continue
        if tag in found:  # libtiff keeps the first, other readers the last: refuse, never guess
            return None
        value = data[at + (12 if big else 8) : at + entry]
        if kind == 3:  # SHORT
            found[tag] = struct.unpack(order + "H", value[:2])[0]
        elif kind == 4:  # LONG
            found[tag] = struct.unpack(order + "I", value[:4])[0]
        elif kind == 16 and big:  # LONG8
            found[tag] = struct.unpack(order + "Q", value[:8])[0]
        else:
            return None
    if 256 not in found or 257 not in found:
        return None
    return int(found[256]), int(found[257])


def encode_jpeg(rgb: np.ndarray, quality: int = 95) -> bytes:
    """Encode an RGB uint8 array as JPEG (face crops and camera frames travel this way: a tenth
    of raw size); `quality` 1..100 (a camera's imageQuality)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB array
        raise ValueError("JPEG encoding failed")
    return bytes(buf)


def decode_crop(data: bytes) -> np.ndarray:
    """Decode a face crop made by `encode_jpeg` (or any image) to RGB uint8."""
    return decode_image(data)


# --- Stored images (GET /api/v1/Images/{id}) --------------------------------------------

SERVED_JPEG_QUALITY = 90


def as_jpeg(data: bytes) -> bytes:
    """A photo as JPEG, which /api/v1/Images answers: JPEG bytes as they are, another format
    (already decoded once by the detector, so readable) re-encoded."""
    if image_format(data) == "JPEG":
        return data
    return encode_jpeg(decode_image(data), SERVED_JPEG_QUALITY)


def resize_jpeg(data: bytes, min_size: int | None, max_size: int | None) -> bytes:
    """Scale so the longer side is at most `max_size` and the shorter at least `min_size`
    (`max_size` wins when both cannot hold); the stored bytes when no scaling is needed."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return data
    height, width = image.shape[:2]
    scale = 1.0
    if min_size is not None and min(width, height) < min_size:
        scale = min_size / min(width, height)
    if max_size is not None and max(width, height) * scale > max_size:
        scale = max_size / max(width, height)
    if abs(scale - 1.0) < 1e-6:
        return data
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    ok, out = cv2.imencode(".jpg", cv2.resize(image, size, interpolation=interpolation),
                           [cv2.IMWRITE_JPEG_QUALITY, SERVED_JPEG_QUALITY])  # fmt: skip
    return out.tobytes() if ok else data


# --- Face chips --------------------------------------------------------------------------
# Canonical geometry: dlib's mean face (the template dlib's 150x150 recognition chips are cut
# with), reduced to our 5 points, in a unit face box. A chip with padding P and side S puts a
# template point t at (P + t) / (1 + 2P) * S: P = 0.25, S = 150 is exactly dlib's chip. The
# detector cuts one chip with generous context (CROP_PADDING); each extractor model takes its
# own sub-chip from it with a fixed transform (`chip_to_chip`), so the photo is read once.

# Image-left eye centre, image-right eye centre, nose tip, image-left and image-right mouth
# corner, in dlib's mean-face box (eye centres: mean of dlib's 5-point model's corners; nose
# tip and mouth corners: points 30, 48 and 54 of the 68-point mean face).
TEMPLATE = np.array(
    [[0.2273, 0.2214], [0.7528, 0.2212], [0.4901, 0.5156], [0.2541, 0.7806], [0.7261, 0.7806]], np.float32
)
CROP_SIZE = 224
CROP_PADDING = 0.5


def template_points(padding: float, size: int) -> np.ndarray:
    """The template's 5 points in a chip of side `size` with `padding`."""
    return ((padding + TEMPLATE) / (1 + 2 * padding) * size).astype(np.float32)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) mapping src onto dst (2x3)."""
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
    # Umeyama without reflection, closed form for 2-D: a = cos*scale, b = sin*scale.
    norm = float((s**2).sum())
    a = float((s * d).sum()) / norm
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / norm
    m = np.array([[a, -b, 0.0], [b, a, 0.0]], np.float64)
    m[:, 2] = dst_mean - m[:, :2] @ src_mean
    return m


def align(
    rgb: np.ndarray, points: np.ndarray, size: int = CROP_SIZE, padding: float = CROP_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the aligned chip; returns (chip, 2x3 photo->chip transform). Outside the photo the
    border is replicated, which the recognition nets tolerate better than black."""
    m = similarity(points.astype(np.float64), template_points(padding, size).astype(np.float64))
    chip = cv2.warpAffine(
        rgb,
        m,
        (size, size),
        flags=cv2.INTER_AREA if m[0, 0] < 0.8 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return chip, m


def chip_corners(m: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The chip's corners (left-top, right-top, left-bottom, right-bottom) in photo pixels."""
    inv = cv2.invertAffineTransform(m)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    return corners @ inv.T


def chip_to_chip(
    chip: np.ndarray,
    size: int,
    padding: float,
    *,
    src_padding: float = CROP_PADDING,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """A model's input chip from the detector's chip: same template with the model's padding
    and size, or (with `reference`, 5 points in the model's own chip) that model's template."""
    src = template_points(src_padding, chip.shape[0]).astype(np.float64)
    dst = template_points(padding, size).astype(np.float64) if reference is None else reference.astype(np.float64)
    m = similarity(src, dst)
    inter = cv2.INTER_AREA if m[0, 0] < 0.8 else cv2.INTER_LINEAR
    return cv2.warpAffine(chip, m, (size, size), flags=inter, borderMode=cv2.BORDER_REPLICATE)
