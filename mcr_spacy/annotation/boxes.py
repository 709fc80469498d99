"""Box geometry: IoU and the Faster R-CNN delta parametrisation."""
import math
from typing import Sequence

import numpy

DELTA_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
# Largest log-scale change of width or height, as in Faster R-CNN.
DELTA_SCALE_CLAMP = math.log(1000.0 / 16)


def box_iou(boxes_a: numpy.ndarray, boxes_b: numpy.ndarray, inclusive: bool = False) -> numpy.ndarray:
    """Pairwise IoU `[A, B]` of `x1, y1, x2, y2` boxes. With `inclusive`, a box
    covers pixels x1..x2, so its width is `x2 - x1 + 1` (the evaluation convention)."""
    a = numpy.asarray(boxes_a, dtype="float64").reshape((-1, 4))
    b = numpy.asarray(boxes_b, dtype="float64").reshape((-1, 4))
    one = 1.0 if inclusive else 0.0
    area_a = (a[:, 2] - a[:, 0] + one).clip(min=0) * (a[:, 3] - a[:, 1] + one).clip(min=0)
    area_b = (b[:, 2] - b[:, 0] + one).clip(min=0) * (b[:, 3] - b[:, 1] + one).clip(min=0)
    x1 = numpy.maximum(a[:, None, 0], b[None, :, 0])
    y1 = numpy.maximum(a[:, None, 1], b[None, :, 1])
    x2 = numpy.minimum(a[:, None, 2], b[None, :, 2])
    y2 = numpy.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x2 - x1 + one).clip(min=0) * (y2 - y1 + one).clip(min=0)
    union = area_a[:, None] + area_b[None, :] - inter
    with numpy.errstate(divide="ignore", invalid="ignore"):
        iou = numpy.where(union > 0, inter / union, 0.0)
    return iou


def apply_deltas(box: Sequence[float], deltas: Sequence[float], image_size: Sequence[float]) -> list:
    """Refine a pixel box by `(dx, dy, dw, dh)` deltas predicted in normalised
    coordinates; the result is clipped to the image."""
    return [float(v) for v in apply_deltas_many([box], [deltas], image_size)[0]]


def apply_deltas_many(boxes: numpy.ndarray, deltas: numpy.ndarray, image_size: Sequence) -> numpy.ndarray:
    """`apply_deltas` for many boxes at once: `boxes` [N, 4] pixels, `deltas`
    [N, 4], `image_size` one `(width, height)` or one per box `[N, 2]`;
    returns [N, 4] pixel boxes clipped to their image."""
    size = numpy.tile(numpy.asarray(image_size, dtype="float64"), 2)
    b = numpy.asarray(boxes, dtype="float64").reshape((-1, 4)) / size
    w = numpy.maximum(b[:, 2] - b[:, 0], 1e-4)
    h = numpy.maximum(b[:, 3] - b[:, 1], 1e-4)
    cx, cy = b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h
    d = numpy.asarray(deltas, dtype="float64").reshape((-1, 4)) / numpy.asarray(DELTA_WEIGHTS, dtype="float64")
    dw = numpy.minimum(d[:, 2], DELTA_SCALE_CLAMP)
    dh = numpy.minimum(d[:, 3], DELTA_SCALE_CLAMP)
    pcx, pcy = cx + d[:, 0] * w, cy + d[:, 1] * h
    pw, ph = w * numpy.exp(dw), h * numpy.exp(dh)
    out = numpy.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw, pcy + 0.5 * ph], axis=1)
    return numpy.clip(out, 0.0, 1.0) * size
