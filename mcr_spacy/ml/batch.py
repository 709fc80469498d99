"""Padded batch arrays for the cross-modal module, built from docs and mentions."""
from typing import Dict, List, NamedTuple, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d, Ints2d

from ..errors import Errors, RegionsError
from ..annotation.extensions import get_doc_values
from ..annotation.gold import doc_name
from ..annotation.label_names import label_matrix
from .mention_features import get_mention_features
from .pair_inputs import PAIR_ATTRIBUTES, PAIR_MATRICES, doc_pair_inputs
from .traces import docs_trace_overlap
from ..annotation.regions import normalize_boxes


def build_batch(
    model: Model, docs: List[Doc], mentions: List[Ints2d], tokvecs: List[Floats2d]
) -> Tuple[Dict[str, object], List[int]]:
    """One padded batch for all docs. Each row holds up to
    `max_mentions_per_chunk` mentions of one doc and that doc's regions; token
    vectors are concatenated over docs and mentions index into them, so no
    mention is dropped and long docs only add rows. Region features are a list
    of each doc's feature array (once, however many rows the doc has: copying
    2048-d features into one array costs more than projecting them), indexed
    from the rows as if concatenated. The arrays are filled with one indexed
    assignment each, not doc by doc.
    Returns the arrays and the doc of each row."""
    ops = model.ops
    chunk = model.attrs["max_mentions_per_chunk"]
    feature_width = model.attrs["region_feature_width"] or 0
    extra_width = model.attrs["extra_width"] or 0
    n_docs = len(docs)
    offsets = numpy.cumsum([0] + [len(t) for t in tokvecs])
    # Mentions: doc i has ceil(n_i / chunk) rows; mention k of doc i goes to
    # its row k // chunk, slot k % chunk.
    spans = [numpy.asarray(m, dtype="int64").reshape((-1, 2)) for m in mentions]
    n_mentions = numpy.asarray([s.shape[0] for s in spans], dtype="int64")
    rows_per_doc = -(-n_mentions // chunk)
    row_docs = numpy.repeat(numpy.arange(n_docs), rows_per_doc)
    n_rows = len(row_docs)
    first_row = numpy.cumsum(rows_per_doc) - rows_per_doc
    mention_doc = numpy.repeat(numpy.arange(n_docs), n_mentions)
    within = numpy.arange(len(mention_doc)) - (numpy.cumsum(n_mentions) - n_mentions)[mention_doc]
    mention_row = first_row[mention_doc] + within // chunk
    mention_slot = within % chunk
    max_m = int(min(chunk, n_mentions.max(initial=0)))
    all_spans = numpy.concatenate(spans) + offsets[:-1][mention_doc, None]
    starts = numpy.zeros((n_rows, max_m), dtype="int64")
    ends = numpy.zeros((n_rows, max_m), dtype="int64")
    mention_mask = numpy.zeros((n_rows, max_m), dtype="bool")
    starts[mention_row, mention_slot] = all_spans[:, 0]
    ends[mention_row, mention_slot] = all_spans[:, 1]
    mention_mask[mention_row, mention_slot] = True
    extra = numpy.zeros((n_rows, max_m, extra_width), dtype="float32")
    if extra_width:
        get_extra = get_mention_features(model)
        for i in numpy.nonzero(n_mentions)[0].tolist():
            rows = mention_doc == i
            extra[mention_row[rows], mention_slot[rows]] = get_extra(docs[i], spans[i])
    # Regions: each doc's once (docs without mentions have no rows and are
    # skipped), then copied to each of its rows.
    regions = _batch_regions(docs, rows_per_doc > 0, feature_width, model.attrs["label_ids"])
    row_counts = regions.counts[row_docs]
    max_r = int(row_counts.max(initial=1)) or 1
    region_row = numpy.repeat(numpy.arange(n_rows), row_counts)
    slot = numpy.arange(len(region_row)) - numpy.repeat(numpy.cumsum(row_counts) - row_counts, row_counts)
    source = regions.first[row_docs][region_row] + slot
    labels = numpy.zeros((n_rows, max_r), dtype="int64")
    boxes = numpy.zeros((n_rows, max_r, 5), dtype="float32")
    region_mask = numpy.zeros((n_rows, max_r), dtype="bool")
    labels[region_row, slot] = regions.labels[source]
    boxes[region_row, slot] = regions.boxes[source]
    region_mask[region_row, slot] = True
    # Rows of the concatenated features; the one past the end (a zero row in
    # the module) for padding and for regions without features.
    feature_index = numpy.full((n_rows, max_r), regions.n_features, dtype="int64")
    first_feature = regions.first_feature[row_docs][region_row]
    has_features = first_feature >= 0
    feature_index[region_row[has_features], slot[has_features]] = (first_feature + slot)[has_features]
    trace_overlap = None
    if model.attrs.get("trace_grounding"):
        trace_overlap = numpy.zeros((n_rows, max_m, max_r), dtype="float32")
        doc_boxes = [regions.boxes[regions.first[i] : regions.first[i] + regions.counts[i]] for i in range(n_docs)]
        per_doc = docs_trace_overlap(docs, spans, doc_boxes, model.attrs.get("trace_window", 1))
        for i, overlap in enumerate(per_doc):
            if overlap.size:
                rows = mention_doc == i
                trace_overlap[mention_row[rows], mention_slot[rows], : overlap.shape[1]] = overlap
        trace_overlap = ops.asarray(trace_overlap)
    label_match = None
    if model.attrs.get("label_grounding"):
        label_match = numpy.zeros((n_rows, max_m, max_r), dtype="float32")
        for i, (doc, doc_spans) in enumerate(zip(docs, spans)):
            doc_labels = (doc._.image_regions.labels or []) if doc._.image_regions is not None else []
            if len(doc_spans) and doc_labels:
                rows = mention_doc == i
                named = label_matrix(doc, doc_spans, doc_labels)
                label_match[mention_row[rows], mention_slot[rows], : named.shape[1]] = named
        label_match = ops.asarray(label_match)
    pairs = None
    if model.attrs.get("antecedent_width"):
        pairs = _batch_pairs(docs, spans, n_mentions, mention_row, mention_slot, n_rows, max_m)
        pairs = {name: ops.asarray(array) for name, array in pairs.items()}
    return {
        "tokvecs": ops.flatten(tokvecs),
        "starts": ops.asarray(starts),
        "ends": ops.asarray(ends),
        "mention_mask": ops.asarray(mention_mask),
        "extra": ops.asarray(extra),
        # Each doc's own array, not a copy: the module projects them one by one.
        "features": [ops.asarray(f) for f in regions.features],
        "feature_index": ops.asarray(feature_index),
        "labels": ops.asarray(labels),
        "boxes": ops.asarray(boxes),
        "region_mask": ops.asarray(region_mask),
        "pairs": pairs,
        "trace_overlap": trace_overlap,
        "label_match": label_match,
    }, row_docs.tolist()


def _batch_pairs(
    docs: List[Doc], spans: List[numpy.ndarray], n_mentions: numpy.ndarray,
    mention_row: numpy.ndarray, mention_slot: numpy.ndarray, n_rows: int, max_m: int,
) -> Dict[str, numpy.ndarray]:
    """The antecedent scorer's mention attributes (`doc_pair_inputs`) in the
    padded `[rows, M]` layout, and the pair attributes (word overlap, agreement
    ranks) as `[rows, M, M]` (pairs in different rows of a doc are never compared)."""
    vocab: Dict[str, int] = {}
    per_doc = [doc_pair_inputs(doc, doc_spans, vocab) if len(doc_spans) else None for doc, doc_spans in zip(docs, spans)]
    arrays = {name: numpy.zeros((n_rows, max_m), dtype="int64") for name in PAIR_ATTRIBUTES}
    matrices = {name: numpy.zeros((n_rows, max_m, max_m), dtype="int64") for name in PAIR_MATRICES}
    first = numpy.cumsum(n_mentions) - n_mentions
    for i, found in enumerate(per_doc):
        if found is None:
            continue
        rows = slice(int(first[i]), int(first[i] + n_mentions[i]))
        for name in PAIR_ATTRIBUTES:
            arrays[name][mention_row[rows], mention_slot[rows]] = found[name]
        doc_rows, doc_slots = mention_row[rows], mention_slot[rows]
        same_row = doc_rows[:, None] == doc_rows[None, :]
        a, b = numpy.nonzero(same_row)
        for name in PAIR_MATRICES:
            matrices[name][doc_rows[a], doc_slots[a], doc_slots[b]] = found[name][a, b]
    arrays.update(matrices)
    return arrays


class _BatchRegions(NamedTuple):
    """The regions of a batch's docs, concatenated: `counts[i]` regions of doc
    i start at row `first[i]` of `labels` and `boxes`; its features (if any)
    at row `first_feature[i]` (-1: none) of the concatenated `features`."""

    counts: numpy.ndarray
    first: numpy.ndarray
    labels: numpy.ndarray
    boxes: numpy.ndarray
    features: List[numpy.ndarray]
    first_feature: numpy.ndarray
    n_features: int


def _batch_regions(
    docs: List[Doc], used: numpy.ndarray, feature_width: int, label_ids: Dict[str, int]
) -> _BatchRegions:
    lookup = _LabelLookup(label_ids)
    counts = numpy.zeros((len(docs),), dtype="int64")
    first_feature = numpy.full((len(docs),), -1, dtype="int64")
    labels: List[numpy.ndarray] = []
    boxes: List[numpy.ndarray] = []
    sizes: List[Tuple[float, float]] = []
    features: List[numpy.ndarray] = []
    n_features = 0
    doc_regions = get_doc_values(docs, "image_regions")
    for i in numpy.nonzero(used)[0].tolist():
        doc = docs[i]
        regions = doc_regions[i]
        if regions is None or len(regions) == 0:
            continue
        regions.check_values(doc_name(doc))
        n = counts[i] = len(regions)
        if regions.features is not None:
            _check_feature_width(doc, regions.feature_width, feature_width)
            if feature_width:
                first_feature[i] = n_features
                features.append(regions.features)
                n_features += n
        if regions.labels is not None:
            labels.append(numpy.fromiter(map(lookup.__getitem__, regions.labels), dtype="int64", count=n))
        else:
            labels.append(numpy.zeros((n,), dtype="int64"))
        boxes.append(regions.boxes)
        sizes.append(regions.image_size)
    first = numpy.cumsum(counts) - counts
    if not boxes:
        return _BatchRegions(counts, first, numpy.zeros((0,), dtype="int64"),
                             numpy.zeros((0, 5), dtype="float32"), [], first_feature, 0)
    # `ImageRegions.normalized_boxes` of every doc at once.
    sizes_per_box = numpy.repeat(numpy.asarray(sizes, dtype="float32"), counts[counts > 0], axis=0)
    normalized = normalize_boxes(numpy.concatenate(boxes), sizes_per_box)
    return _BatchRegions(counts, first, numpy.concatenate(labels), normalized, features, first_feature, n_features)


class _LabelLookup(dict):
    """Detector label → label id (0: unknown), matched lower-cased; each
    distinct spelling is lower-cased once per batch."""

    def __init__(self, label_ids: Dict[str, int]) -> None:
        super().__init__()
        self.label_ids = label_ids

    def __missing__(self, label: str) -> int:
        value = self[label] = self.label_ids.get(label.lower(), 0)
        return value


def _check_feature_width(doc: Doc, width: int, feature_width: int) -> None:
    if width != feature_width:
        message = Errors.E117 if feature_width == 0 else Errors.E118
        raise RegionsError(message.format(doc=doc_name(doc), width=width, expected=feature_width))
