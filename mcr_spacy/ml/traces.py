"""Mouse traces as a grounding signal: how much each region overlaps the
narrator's pointer while a mention was spoken.

`doc._.trace_boxes` holds one row per token, float32 `[len(doc), 5]`: the
normalised `x1, y1, x2, y2, area` box of the mouse trace while the token was
spoken, all zeros where the trace has no point then (punctuation, pauses).
Narrators point a little before or after they speak, so a mention's trace is
read over its tokens and `window` tokens either side.
"""
from typing import List, Optional, Sequence

import numpy
from spacy.tokens import Doc

from ..annotation.gold import doc_name
from ..errors import DataFormatError, Errors


def doc_trace_boxes(doc: Doc) -> Optional[numpy.ndarray]:
    """The doc's per-token trace boxes as float32 `[len(doc), 5]`, or None
    when it has none. A layout that does not match the doc is an error."""
    trace = doc._.trace_boxes
    if trace is None:
        return None
    trace = numpy.asarray(trace, dtype="float32")
    if trace.ndim != 2 or trace.shape != (len(doc), 5) or not numpy.all(numpy.isfinite(trace)):
        raise DataFormatError(Errors.E180.format(doc=doc_name(doc), shape=list(trace.shape), n_tokens=len(doc)))
    return trace


def mention_trace_overlap(
    trace: Optional[numpy.ndarray], mentions: numpy.ndarray, region_boxes: numpy.ndarray, window: int
) -> numpy.ndarray:
    """`[n_mentions, R]` overlap of each mention's trace with each region: the
    mean IoU of the region with the trace boxes of the mention's tokens and of
    `window` tokens either side (tokens without a trace point are left out;
    0 where none has one, and everywhere when `trace` is None).

    trace: per-token boxes `[T, 5]` (normalised); mentions: `[n, 2]` token
    offsets (end exclusive); region_boxes: normalised `[R, 4+]`."""
    mentions = numpy.asarray(mentions, dtype="int64").reshape((-1, 2))
    n, n_regions = len(mentions), len(region_boxes)
    if trace is None or n == 0 or n_regions == 0:
        return numpy.zeros((n, n_regions), dtype="float32")
    starts = numpy.clip(mentions[:, 0] - window, 0, len(trace))
    ends = numpy.clip(mentions[:, 1] + window, 0, len(trace))
    # Only the tokens with a trace point that some mention's window covers.
    covered = numpy.zeros((len(trace) + 1,), dtype="int64")
    numpy.add.at(covered, starts, 1)
    numpy.add.at(covered, ends, -1)
    used = numpy.nonzero((numpy.cumsum(covered[:-1]) > 0) & (trace[:, 2:4].max(axis=1) > 0))[0]
    if len(used) == 0:
        return numpy.zeros((n, n_regions), dtype="float32")
    iou = _iou(trace[used, :4], numpy.asarray(region_boxes, dtype="float32")[:, :4])
    in_window = ((used[None, :] >= starts[:, None]) & (used[None, :] < ends[:, None])).astype("float32")
    counts = in_window.sum(axis=1, keepdims=True)
    return (in_window @ iou / numpy.maximum(counts, 1)).astype("float32")


def _iou(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """Pairwise IoU `[A, B]` of normalised `x1, y1, x2, y2` boxes (float32;
    0 for empty unions)."""
    width = numpy.minimum(a[:, None, 2], b[None, :, 2]) - numpy.maximum(a[:, None, 0], b[None, :, 0])
    height = numpy.minimum(a[:, None, 3], b[None, :, 3]) - numpy.maximum(a[:, None, 1], b[None, :, 1])
    inter = numpy.maximum(width, 0) * numpy.maximum(height, 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return inter / numpy.maximum(union, 1e-12)


def docs_trace_overlap(
    docs: Sequence[Doc], mentions: Sequence[numpy.ndarray], region_boxes: Sequence[Optional[numpy.ndarray]], window: int
) -> List[numpy.ndarray]:
    """`mention_trace_overlap` of each doc (regions normalised, None: no regions)."""
    out = []
    for doc, doc_mentions, boxes in zip(docs, mentions, region_boxes):
        boxes = numpy.zeros((0, 4), dtype="float32") if boxes is None else boxes
        trace = doc_trace_boxes(doc) if len(doc_mentions) and len(boxes) else None
        out.append(mention_trace_overlap(trace, doc_mentions, boxes, window))
    return out


def trace_target(overlap: numpy.ndarray, temperature: float, min_overlap: float) -> numpy.ndarray:
    """Soft grounding targets `[n, R]` from trace overlaps: a softmax of the
    overlaps at `temperature` over the regions, for the mentions whose best
    overlap reaches `min_overlap` (rows of zeros for the others: the pointer
    was on nothing the detector found)."""
    overlap = numpy.asarray(overlap, dtype="float64")
    if overlap.size == 0:
        return numpy.zeros(overlap.shape, dtype="float32")
    scaled = overlap / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    probs = numpy.exp(scaled)
    probs /= probs.sum(axis=1, keepdims=True)
    keep = overlap.max(axis=1) >= min_overlap
    return (probs * keep[:, None]).astype("float32")


def chance_corrected_agreement(agree: float, chance: float, n: float) -> Optional[float]:
    """How much better than chance the trace picks an acceptable region:
    `(agree - chance) / (n - chance)` clipped to [0, 1], from the counts
    summed over labelled mentions (`chance`: the sum of 1 / regions); None
    when there is nothing to count."""
    if n <= 0 or n - chance <= 0:
        return None
    return float(min(1.0, max(0.0, (agree - chance) / (n - chance))))
