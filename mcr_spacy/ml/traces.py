"""Mouse traces as a grounding signal: how much each region overlaps the
narrator's pointer while a mention was spoken.

`doc._.trace_boxes` holds one row per token, float32 `[len(doc), 5]`: the
normalised `x1, y1, x2, y2, area` box of the mouse trace while the token was
spoken, all zeros where the trace has no point then (punctuation, pauses).
Narrators point a little before or after they speak, by about the same lag
over a whole narration (Localized Narratives align words and pointer by
utterance timing, not per word). So a doc's traces are read at the one lag
of -window..window tokens under which its mentions' traces fall most
squarely on detected regions, and a mention's trace is that of its own
tokens at that lag: reading a window of tokens either side instead blurs it
with the pointer's drift between things.
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
    mean IoU of the region with the trace boxes of the mention's tokens, read
    at the doc's lag (`trace_lag`, within -window..window tokens; tokens
    without a trace point are left out; 0 where none has one, and everywhere
    when `trace` is None).

    trace: per-token boxes `[T, 5]` (normalised); mentions: `[n, 2]` token
    offsets (end exclusive); region_boxes: normalised `[R, 4+]`."""
    mentions = numpy.asarray(mentions, dtype="int64").reshape((-1, 2))
    n, n_regions = len(mentions), len(region_boxes)
    if trace is None or n == 0 or n_regions == 0:
        return numpy.zeros((n, n_regions), dtype="float32")
    has_point = trace[:, 2:4].max(axis=1) > 0
    if not has_point.any():
        return numpy.zeros((n, n_regions), dtype="float32")
    iou = _iou(trace[:, :4], numpy.asarray(region_boxes, dtype="float32")[:, :4])
    best, best_score = None, -1.0
    for lag in sorted(range(-window, window + 1), key=abs):
        overlap = _overlap_at_lag(iou, has_point, mentions, lag)
        score = float(overlap.max(axis=1).mean())
        if score > best_score + 1e-6:  # ties keep the smaller lag
            best, best_score = overlap, score
    return best


def _overlap_at_lag(iou: numpy.ndarray, has_point: numpy.ndarray, mentions: numpy.ndarray, lag: int) -> numpy.ndarray:
    """`[n, R]` mean of the per-token IoUs `iou` `[T, R]` over each mention's
    tokens shifted by `lag` (the pointer `lag` tokens late), tokens with a
    trace point only."""
    starts = numpy.clip(mentions[:, 0] + lag, 0, len(iou))
    ends = numpy.clip(mentions[:, 1] + lag, 0, len(iou))
    tokens = numpy.arange(len(iou))
    in_span = (tokens[None, :] >= starts[:, None]) & (tokens[None, :] < ends[:, None]) & has_point[None, :]
    in_span = in_span.astype("float32")
    counts = in_span.sum(axis=1, keepdims=True)
    return (in_span @ iou / numpy.maximum(counts, 1)).astype("float32")


def point_regions(points: numpy.ndarray, region_boxes: numpy.ndarray) -> numpy.ndarray:
    """`[P]` index of the region each trace box `[P, 4+]` overlaps most."""
    if len(points) == 0 or len(region_boxes) == 0:
        return numpy.zeros((0,), dtype="int64")
    return _iou(numpy.asarray(points, dtype="float32")[:, :4], numpy.asarray(region_boxes, dtype="float32")[:, :4]).argmax(axis=1)


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
    summed over labelled mentions (`chance`: the agreement expected of a
    trace read at random moments, see `trace_agreement_counts`); None when
    there is nothing to count."""
    if n <= 0 or n - chance <= 0:
        return None
    return float(min(1.0, max(0.0, (agree - chance) / (n - chance))))
