"""Images for the view, inlined as `data:` URIs: image files are embedded as
they are, numpy arrays are encoded as PNG with the standard library's zlib."""
import base64
import struct
import zlib
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy

from ..errors import DataFormatError, Errors

ImageInput = Union[None, str, Path, bytes, bytearray, numpy.ndarray]


def image_data_uri(image: ImageInput) -> Tuple[str, Optional[Tuple[int, int]]]:
    """A `data:` URI for an image path, the bytes of an image file or a numpy
    uint8 array, and the image's `(width, height)` where it can be read."""
    if isinstance(image, numpy.ndarray):
        data = encode_png(image)
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), (
            int(image.shape[1]),
            int(image.shape[0]),
        )
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(Errors.E505.format(path=str(path)))
        data = path.read_bytes()
        where = f"image file {str(path)!r}"
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        where = "image bytes"
    else:
        raise DataFormatError(Errors.E506.format(type=type(image).__name__))
    mime = _sniff_mime(data)
    if mime is None:
        raise DataFormatError(Errors.E507.format(where=where, head=data[:8]))
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii"), image_file_size(data)


def _sniff_mime(data: bytes) -> Optional[str]:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_file_size(data: bytes) -> Optional[Tuple[int, int]]:
    """`(width, height)` read from the header of a PNG, GIF or JPEG file, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            if marker == 0xDA:  # start of scan: no frame header found before it
                return None
            i += 2 + length
    return None


def encode_png(array: Any) -> bytes:
    """Encode a uint8 array (H x W grey, H x W x 3 RGB or H x W x 4 RGBA) as PNG,
    with the standard library's zlib."""
    arr = numpy.asarray(array)
    if arr.dtype != numpy.uint8:
        raise DataFormatError(Errors.E508.format(dtype=arr.dtype))
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        colour_type, channels = 0, 1
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        colour_type, channels = (2, 3) if arr.shape[2] == 3 else (6, 4)
    else:
        raise DataFormatError(Errors.E509.format(shape=list(arr.shape)))
    height, width = arr.shape[:2]
    if height == 0 or width == 0:
        raise DataFormatError(Errors.E510.format(shape=list(arr.shape)))
    rows = numpy.ascontiguousarray(arr).reshape((height, width * channels))
    raw = numpy.hstack([numpy.zeros((height, 1), dtype=numpy.uint8), rows]).tobytes()

    def chunk(tag: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(tag + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
