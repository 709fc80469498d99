"""Reading images for region extraction: a path, the bytes of an image file, a
numpy array or a PIL image becomes an RGB uint8 array, turned upright by its
EXIF orientation and downscaled when it is larger than the extractors need
(boxes are mapped back to the pixels of the upright original)."""
import io
from pathlib import Path
from typing import Any, NamedTuple, Optional, Tuple, Union

import numpy

from ..errors import Errors, ImageError

ImageSource = Union[str, Path, bytes, bytearray, numpy.ndarray, Any]
# The longest side images are decoded to: the detector sees 300 x 300 and the
# encoder at most a few hundred pixels, so larger images only cost memory.
DEFAULT_MAX_SIDE = 1024
WHITE = 255
# The EXIF orientation tag, and its values that turn the image by 90 degrees.
EXIF_ORIENTATION = 0x0112
ROTATING_ORIENTATIONS = (5, 6, 7, 8)


class LoadedImage(NamedTuple):
    """An image ready for the extractors.

    array (numpy.ndarray): H x W x 3 RGB uint8, possibly downscaled.
    size (Tuple[int, int]): `(width, height)` of the upright original image:
        the pixels that boxes are given in.
    name (str): how messages name the image (its path, or "image bytes").
    """

    array: numpy.ndarray
    size: Tuple[int, int]
    name: str

    @property
    def scale(self) -> Tuple[float, float]:
        """Original pixels per array pixel, along x and y."""
        return (self.size[0] / self.array.shape[1], self.size[1] / self.array.shape[0])


def import_pillow() -> Any:
    """`PIL.Image`, or ImageError E800 when the vision extra is missing."""
    try:
        from PIL import Image
    except ImportError as err:
        raise ImageError(Errors.E800.format(error=err)) from None
    return Image


def read_image(source: ImageSource, *, max_side: int = DEFAULT_MAX_SIDE, name: Optional[str] = None) -> LoadedImage:
    """Read an image as an upright RGB uint8 array of at most `max_side` pixels
    on its longer side.

    source: a file path, the bytes of an image file, a numpy uint8 array (H x W
        grey, H x W x 3 RGB or H x W x 4 RGBA) or a PIL image.
    max_side (int): downscale larger images to this longer side (0: never).
    name (str or None): how error messages name the image.
    RETURNS (LoadedImage): the array and the original `(width, height)`.
    """
    Image = import_pillow()
    if isinstance(source, (str, Path)):
        where = name or repr(str(source))
        if not Path(source).is_file():
            raise ImageError(Errors.E801.format(where=where))
        image = _open(Image, Path(source), where)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        where = name or "image bytes"
        image = _open(Image, io.BytesIO(bytes(source)), where)
    elif isinstance(source, numpy.ndarray):
        where = name or "image array"
        image = Image.fromarray(_check_array(source, where))
    elif isinstance(source, Image.Image):
        where = name or "PIL image"
        image = source
    else:
        raise ImageError(Errors.E803.format(type=type(source).__name__))
    try:
        return _to_loaded(Image, image, max_side, where)
    except (OSError, ValueError, SyntaxError) as err:  # truncated or corrupt image data
        raise ImageError(Errors.E802.format(where=where, error=err)) from None


def _open(Image: Any, file_: Any, where: str) -> Any:
    try:
        return Image.open(file_)
    except Image.DecompressionBombError as err:
        raise ImageError(Errors.E806.format(where=where, error=err)) from None
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageError(Errors.E802.format(where=where, error=err)) from None


def _check_array(array: numpy.ndarray, where: str) -> numpy.ndarray:
    if array.dtype != numpy.uint8:
        raise ImageError(Errors.E805.format(where=where, dtype=array.dtype))
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))) or 0 in array.shape:
        raise ImageError(Errors.E804.format(where=where, shape=list(array.shape)))
    return numpy.ascontiguousarray(array)


def _to_loaded(Image: Any, image: Any, max_side: int, where: str) -> LoadedImage:
    """Upright, at most `max_side`, RGB (transparency over white)."""
    from PIL import ImageOps

    width, height = image.size
    if image.getexif().get(EXIF_ORIENTATION, 1) in ROTATING_ORIENTATIONS:
        width, height = height, width  # the upright original's size
    if max_side and max(width, height) > max_side and getattr(image, "format", None) == "JPEG":
        # Decode a large JPEG at a reduced scale: fast, and light on memory.
        image.draft("RGB", (max_side, max_side))
    image = ImageOps.exif_transpose(image)
    image.load()
    if max_side and max(image.size) > max_side:
        factor = max_side / max(image.size)
        new_size = (max(1, round(image.size[0] * factor)), max(1, round(image.size[1] * factor)))
        image = image.resize(new_size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return LoadedImage(_rgb_array(Image, image), (int(width), int(height)), where)


def _rgb_array(Image: Any, image: Any) -> numpy.ndarray:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (WHITE, WHITE, WHITE, 255))
        image = Image.alpha_composite(background, rgba)
    return numpy.asarray(image.convert("RGB"), dtype=numpy.uint8)
