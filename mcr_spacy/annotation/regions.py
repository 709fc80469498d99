"""Detected image regions attached to a Doc as `doc._.image_regions`."""
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

import numpy
import srsly

from ..errors import Errors, RegionsError

MSGPACK_KEY = "__mcr_spacy_image_regions__"
# The largest magnitude of a region value (feature, score, pixel coordinate):
# larger ones overflow float32 inside the model (a square in a LayerNorm).
MAX_REGION_VALUE = 1e6


def normalize_boxes(boxes: numpy.ndarray, sizes: numpy.ndarray) -> numpy.ndarray:
    """Pixel boxes [N, 4] as `[x1, y1, x2, y2, area]` in fractions of their
    image's `(width, height)`: `sizes` is [N, 2], or [1, 2] for one image."""
    out = numpy.zeros((boxes.shape[0], 5), dtype="float32")
    out[:, [0, 2]] = boxes[:, [0, 2]] / sizes[:, :1]
    out[:, [1, 3]] = boxes[:, [1, 3]] / sizes[:, 1:]
    out[:, :4] = numpy.clip(out[:, :4], 0.0, 1.0)
    out[:, 4] = (out[:, 2] - out[:, 0]) * (out[:, 3] - out[:, 1])
    return out


class ImageRegions:
    """The detected regions of one image: boxes in pixels, with visual features,
    detector labels or both.

    boxes (array-like): float32 [N, 4], `x1, y1, x2, y2` in pixels.
    features (array-like or None): float32 [N, D], one vector per region.
    labels (list of str or None): detector class names, one per region.
    scores (array-like or None): float32 [N], detector confidences.
    image_size (Tuple[float, float]): `(width, height)` of the original image.
    image_id (str or None): e.g. the Flickr30k id, used in error messages.
    clip (bool): clip boxes to the image instead of refusing boxes that leave it.
    extractor (str or None): the name of the detector and feature extractor the
        regions came from (e.g. "mcr_spacy.ssd_mobilenet_v2_coco.v1"), recorded
        by a trained pipeline and named in its errors.
    """

    __slots__ = ("boxes", "features", "labels", "scores", "image_size", "image_id", "extractor")

    def __init__(
        self,
        boxes: Any,
        features: Any = None,
        labels: Optional[Sequence[str]] = None,
        scores: Any = None,
        *,
        image_size: Tuple[float, float],
        image_id: Optional[str] = None,
        clip: bool = False,
        extractor: Optional[str] = None,
    ) -> None:
        self.image_id = None if image_id is None else str(image_id)
        self.extractor = None if extractor is None else str(extractor)
        where = f"image {self.image_id!r}" if self.image_id is not None else "image"
        if image_size is None or len(image_size) != 2:
            raise RegionsError(Errors.E001.format(where=where, image_size=image_size))
        width, height = (float(image_size[0]), float(image_size[1]))
        if not (numpy.isfinite(width) and numpy.isfinite(height)) or width <= 0 or height <= 0:
            raise RegionsError(Errors.E002.format(where=where, image_size=image_size))
        self.image_size = (width, height)
        boxes = numpy.asarray(boxes, dtype="float32")
        if boxes.size == 0:
            boxes = boxes.reshape((0, 4))
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise RegionsError(Errors.E003.format(where=where, shape=list(boxes.shape)))
        n = boxes.shape[0]
        _check_values(boxes, "boxes", where)
        bad = numpy.where((boxes[:, 0] > boxes[:, 2]) | (boxes[:, 1] > boxes[:, 3]))[0]
        if len(bad):
            i = int(bad[0])
            raise RegionsError(Errors.E004.format(where=where, index=i, box=boxes[i].tolist()))
        if clip:
            boxes = boxes.copy()
            boxes[:, [0, 2]] = numpy.clip(boxes[:, [0, 2]], 0, width)
            boxes[:, [1, 3]] = numpy.clip(boxes[:, [1, 3]], 0, height)
        else:
            tol = 1.0  # inclusive-pixel conventions put x2 at width - 1 or width
            outside = numpy.where(
                (boxes[:, 0] < -tol)
                | (boxes[:, 1] < -tol)
                | (boxes[:, 2] > width + tol)
                | (boxes[:, 3] > height + tol)
            )[0]
            if len(outside):
                i = int(outside[0])
                raise RegionsError(Errors.E005.format(
                    where=where, index=i, box=boxes[i].tolist(), image_size=list(self.image_size)
                ))
        self.boxes = boxes
        if features is not None:
            # Writable and contiguous (arrays read back from a DocBin are
            # read-only views): the model can then use them without a copy.
            features = numpy.require(features, "float32", ["C", "W"])
            if features.ndim != 2 or features.shape[0] != n:
                raise RegionsError(Errors.E006.format(where=where, n=n, shape=list(features.shape)))
            _check_values(features, "features", where)
        self.features = features
        if labels is not None:
            if isinstance(labels, str):
                raise RegionsError(Errors.E007.format(where=where))
            labels = [str(label) for label in labels]
            if len(labels) != n:
                raise RegionsError(Errors.E008.format(where=where, n_labels=len(labels), n=n))
        self.labels = labels
        if features is None and labels is None and n > 0:
            raise RegionsError(Errors.E009.format(where=where))
        if scores is not None:
            scores = numpy.asarray(scores, dtype="float32").reshape((-1,))
            if scores.shape[0] != n:
                raise RegionsError(Errors.E010.format(where=where, n_scores=scores.shape[0], n=n))
            _check_values(scores, "scores", where)
        self.scores = scores

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def __repr__(self) -> str:
        width = None if self.features is None else self.features.shape[1]
        return (
            f"ImageRegions(image_id={self.image_id!r}, n_regions={len(self)}, "
            f"feature_width={width}, labels={self.labels is not None}, "
            f"image_size={self.image_size})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageRegions):
            return NotImplemented
        return (
            self.image_id == other.image_id
            and self.image_size == other.image_size
            and self.labels == other.labels
            and _array_equal(self.boxes, other.boxes)
            and _array_equal(self.features, other.features)
            and _array_equal(self.scores, other.scores)
        )

    def check_values(self, where: Optional[str] = None) -> None:
        """Check again that boxes, features and scores are finite and within
        +-MAX_REGION_VALUE (E011, E030): the model calls this where it reads
        them, as arrays can be changed after construction."""
        if where is None:
            where = f"image {self.image_id!r}" if self.image_id is not None else "image"
        for name in ("boxes", "features", "scores"):
            values = getattr(self, name)
            if values is not None:
                _check_values(values, name, where)

    @property
    def feature_width(self) -> Optional[int]:
        """The width D of the visual features, or None without features."""
        return None if self.features is None else int(self.features.shape[1])

    def normalized_boxes(self) -> numpy.ndarray:
        """Boxes as `[x1, y1, x2, y2, area]` in fractions of the image size."""
        return normalize_boxes(self.boxes, numpy.asarray([self.image_size], dtype="float32"))

    def to_dict(self) -> Dict[str, Any]:
        """Plain numpy arrays and lists, for msgpack."""
        return {
            "boxes": self.boxes,
            "features": self.features,
            "labels": self.labels,
            "scores": self.scores,
            "image_size": list(self.image_size),
            "image_id": self.image_id,
            "extractor": self.extractor,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ImageRegions":
        return cls(
            boxes=data["boxes"],
            features=data.get("features"),
            labels=data.get("labels"),
            scores=data.get("scores"),
            image_size=tuple(data["image_size"]),
            image_id=data.get("image_id"),
            extractor=data.get("extractor"),
        )

    @classmethod
    def empty(cls, image_size: Tuple[float, float], image_id: Optional[str] = None) -> "ImageRegions":
        """An image with no detected regions."""
        return cls(numpy.zeros((0, 4), dtype="float32"), image_size=image_size, image_id=image_id)


def boxes_from_xywh(boxes: Iterable[Sequence[float]]) -> numpy.ndarray:
    """Convert `[x, y, w, h]` boxes to `[x1, y1, x2, y2]`."""
    arr = numpy.asarray(list(boxes), dtype="float32").reshape((-1, 4))
    out = arr.copy()
    out[:, 2] = arr[:, 0] + arr[:, 2]
    out[:, 3] = arr[:, 1] + arr[:, 3]
    return out


def _check_values(arr: numpy.ndarray, name: str, where: str) -> None:
    """Refuse NaN and infinite values (E011) and values beyond
    +-MAX_REGION_VALUE (E030)."""
    if arr.size == 0:
        return
    largest = float(numpy.abs(arr).max())  # NaN when there is one
    if largest <= MAX_REGION_VALUE:
        return
    if not numpy.all(numpy.isfinite(arr)):
        bad = numpy.argwhere(~numpy.isfinite(arr))[0].tolist()
        raise RegionsError(Errors.E011.format(where=where, name=name, index=bad))
    raise RegionsError(Errors.E030.format(where=where, name=name, value=largest, limit=MAX_REGION_VALUE))


def _array_equal(a: Optional[numpy.ndarray], b: Optional[numpy.ndarray]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(numpy.array_equal(a, b))


def _encode_regions(obj: Any, chain: Any = None) -> Any:
    if isinstance(obj, ImageRegions):
        return {MSGPACK_KEY: obj.to_dict()}
    return obj if chain is None else chain(obj)


def _decode_regions(obj: Any, chain: Any = None) -> Any:
    if isinstance(obj, dict) and MSGPACK_KEY in obj:
        return ImageRegions.from_dict(obj[MSGPACK_KEY])
    return obj if chain is None else chain(obj)


def register_msgpack_codec() -> None:
    """Let `DocBin(store_user_data=True)` and `doc.to_bytes()` carry ImageRegions."""
    srsly.msgpack_encoders.register("mcr_spacy_image_regions", func=_encode_regions)
    srsly.msgpack_decoders.register("mcr_spacy_image_regions", func=_decode_regions)
