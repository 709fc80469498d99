"""A detector and an encoder that need no weights, for tests of the plumbing."""
from typing import List, Sequence

import numpy

from mcr_spacy.vision import Detections


class CentreDetector:
    """Finds one "dog" in the middle half of every image (in its pixels)."""

    name = "test.centre_detector"

    def __init__(self) -> None:
        self.seen: List[tuple] = []
        self.calls: List[int] = []

    def __call__(self, images: Sequence[numpy.ndarray]) -> List[Detections]:
        self.calls.append(len(images))
        out = []
        for image in images:
            self.seen.append(image.shape)
            h, w = image.shape[:2]
            box = numpy.asarray([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]], dtype="float32")
            out.append(Detections(box, ["dog"], numpy.asarray([0.9], dtype="float32")))
        return out


class MeanColourEncoder:
    """The mean colour inside each box (width 3)."""

    name = "test.mean_colour"
    width = 3

    def __call__(self, images, boxes):
        out = []
        for image, image_boxes in zip(images, boxes):
            rows = []
            for x1, y1, x2, y2 in numpy.asarray(image_boxes).astype(int):
                crop = image[y1:max(y2, y1 + 1), x1:max(x2, x1 + 1)]
                rows.append(crop.reshape((-1, 3)).mean(axis=0))
            out.append(numpy.asarray(rows, dtype="float32").reshape((-1, 3)))
        return out


def save_noise_images(folder, sizes, broken=()):
    """Noise images (name -> (height, width, channels)) and broken files in a
    new folder; returns the folder."""
    from PIL import Image

    folder.mkdir()
    rng = numpy.random.default_rng(0)
    for name, shape in sizes.items():
        Image.fromarray(rng.integers(0, 255, shape, dtype="uint8")).save(folder / name)
    for name in broken:
        (folder / name).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder
