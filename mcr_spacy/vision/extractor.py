"""Region extraction: a detector and a region encoder turn images into
`ImageRegions` (boxes in pixels of the upright original, COCO labels,
scores, features, a whole-image region first)."""
from functools import lru_cache
from typing import Any, Callable, List, Optional, Sequence

import numpy
from spacy.util import registry

from ..annotation.regions import ImageRegions
from ..errors import Errors, ImageError
from .detector import Detections, create_ssd_mobilenet_detector
from .encoder import create_efficientnet_region_encoder
from .images import DEFAULT_MAX_SIDE, ImageSource, LoadedImage, read_image

EXTRACTOR_NAME = "mcr_spacy.region_extractor.v1"
# The label and score of the region that covers the whole image.
WHOLE_IMAGE_LABEL = "image"
WHOLE_IMAGE_SCORE = 1.0

Detector = Callable[[Sequence[numpy.ndarray]], List[Detections]]
RegionEncoder = Callable[[Sequence[numpy.ndarray], Sequence[numpy.ndarray]], List[numpy.ndarray]]


class RegionExtractor:
    """Images in, `ImageRegions` out: the detector's boxes plus one box over the
    whole image, each with a feature vector from the encoder (none when the
    encoder is None: label-only regions, for models trained on labels).

    detector: images -> `Detections` per image (boxes in the array's pixels).
    encoder: images, boxes -> features per image, or None.
    max_side (int): images are decoded to at most this longer side.
    """

    def __init__(self, detector: Detector, encoder: Optional[RegionEncoder] = None, max_side: int = DEFAULT_MAX_SIDE) -> None:
        self.detector = detector
        self.encoder = encoder
        self.max_side = int(max_side)

    @property
    def name(self) -> str:
        """The detector's name, then the encoder's: what a pipeline records."""
        parts = [_name_of(self.detector)] + ([_name_of(self.encoder)] if self.encoder is not None else [])
        return " + ".join(parts)

    @property
    def feature_width(self) -> int:
        """The width of the features (0 for label-only regions)."""
        return 0 if self.encoder is None else int(getattr(self.encoder, "width"))

    def read(self, source: ImageSource, name: Optional[str] = None) -> LoadedImage:
        """Read one image for this extractor (ImageError when it cannot be read);
        a `LoadedImage` is used as it is."""
        if isinstance(source, LoadedImage):
            return source
        return read_image(source, max_side=self.max_side, name=name)

    def __call__(self, sources: Sequence[Any], image_ids: Optional[Sequence[Optional[str]]] = None) -> List[ImageRegions]:
        """The regions of a batch of images (paths, bytes, arrays, PIL images or
        `LoadedImage`s), detected and encoded in batches."""
        images = [self.read(source) for source in sources]
        ids = list(image_ids) if image_ids is not None else [None] * len(images)
        if not images:
            return []
        arrays = [image.array for image in images]
        detections = list(self.detector(arrays))
        if len(detections) != len(images):
            raise ImageError(Errors.E809.format(name=_name_of(self.detector), n_results=len(detections), n_images=len(images)))
        boxes = [with_whole_image(det.boxes, array) for det, array in zip(detections, arrays)]
        features: List[Optional[numpy.ndarray]] = [None] * len(images)
        if self.encoder is not None:
            features = list(self.encoder(arrays, boxes))
            for image, feats, image_boxes in zip(images, features, boxes):
                if feats.ndim != 2 or feats.shape != (len(image_boxes), self.feature_width):
                    raise ImageError(Errors.E810.format(
                        name=_name_of(self.encoder), shape=list(feats.shape), n_boxes=len(image_boxes),
                        where=image.name, width=self.feature_width,
                    ))
        return [
            self._regions(image, det, image_boxes, feats, image_id)
            for image, det, image_boxes, feats, image_id in zip(images, detections, boxes, features, ids)
        ]

    def _regions(
        self, image: LoadedImage, det: Detections, boxes: numpy.ndarray, features: Optional[numpy.ndarray], image_id: Optional[str]
    ) -> ImageRegions:
        scale_x, scale_y = image.scale
        pixels = boxes * numpy.asarray([scale_x, scale_y, scale_x, scale_y], dtype="float32")
        labels = [WHOLE_IMAGE_LABEL] + [str(label) for label in det.labels]
        scores = numpy.concatenate([[WHOLE_IMAGE_SCORE], numpy.asarray(det.scores, dtype="float32")])
        return ImageRegions(
            pixels, features, labels, scores, image_size=image.size, image_id=image_id, clip=True, extractor=self.name,
        )


def with_whole_image(boxes: numpy.ndarray, array: numpy.ndarray) -> numpy.ndarray:
    height, width = array.shape[:2]
    whole = numpy.asarray([[0.0, 0.0, width, height]], dtype="float32")
    return numpy.concatenate([whole, numpy.asarray(boxes, dtype="float32").reshape((-1, 4))])


def _name_of(part: Any) -> str:
    return str(getattr(part, "name", type(part).__name__))


@registry.misc(EXTRACTOR_NAME)
def create_region_extractor(
    detector: Optional[Detector] = None,
    encoder: Optional[RegionEncoder] = None,
    features: bool = True,
    max_side: int = DEFAULT_MAX_SIDE,
) -> RegionExtractor:
    """A region extractor from a detector and an encoder (registered
    functions); the defaults are SSD-MobileNet-v2 (COCO) and EfficientNet-lite0
    with RoI align. `features = false`: label-only regions, no encoder."""
    detector = detector if detector is not None else create_ssd_mobilenet_detector()
    if features and encoder is None:
        encoder = create_efficientnet_region_encoder()
    return RegionExtractor(detector, encoder if features else None, max_side=max_side)


def extract_regions(
    images: Sequence[ImageSource],
    image_ids: Optional[Sequence[Optional[str]]] = None,
    *,
    extractor: Optional[RegionExtractor] = None,
) -> List[ImageRegions]:
    """The regions of some images with the default extractor (or `extractor`)."""
    extractor = extractor if extractor is not None else default_extractor()
    return extractor(list(images), image_ids)


@lru_cache(maxsize=2)
def default_extractor(features: bool = True) -> RegionExtractor:
    """The default extractor, built once per process (its weights load on first use)."""
    return create_region_extractor(features=features)
