"""Padded batch arrays for the cross-modal module, built from docs and mentions."""
from typing import Dict, List, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats2d, Ints2d

from .errors import RegionsError
from .gold import doc_name
from .model import get_mention_features


def build_batch(
    model: Model, docs: List[Doc], mentions: List[Ints2d], tokvecs: List[Floats2d]
) -> Tuple[Dict[str, object], List[int]]:
    """One padded batch for all docs. Each row holds up to
    `max_mentions_per_chunk` mentions of one doc and that doc's regions; token
    vectors are concatenated over docs and mentions index into them, so no
    mention is dropped and long docs only add rows. Region features are a list
    of each doc's feature array (once, however many rows the doc has: copying
    2048-d features into one array costs more than projecting them), indexed
    from the rows as if concatenated.
    Returns the arrays and the doc of each row."""
    ops = model.ops
    chunk = model.attrs["max_mentions_per_chunk"]
    feature_width = model.attrs["region_feature_width"] or 0
    label_ids = model.attrs["label_ids"]
    extra_width = model.attrs["extra_width"] or 0
    get_extra = get_mention_features(model)
    offsets = numpy.cumsum([0] + [len(t) for t in tokvecs])
    rows = []  # (doc index, first mention, last mention)
    for i, doc_mentions in enumerate(mentions):
        for start in range(0, len(doc_mentions), chunk):
            rows.append((i, start, min(start + chunk, len(doc_mentions))))
    n_rows = len(rows)
    max_m = max(end - start for _, start, end in rows)
    region_counts = [_n_regions(doc) for doc in docs]
    max_r = max([region_counts[i] for i, _, _ in rows] + [1])
    starts = numpy.zeros((n_rows, max_m), dtype="int64")
    ends = numpy.zeros((n_rows, max_m), dtype="int64")
    mention_mask = numpy.zeros((n_rows, max_m), dtype="bool")
    extra = numpy.zeros((n_rows, max_m, extra_width), dtype="float32")
    feature_index = numpy.full((n_rows, max_r), -1, dtype="int64")
    labels = numpy.zeros((n_rows, max_r), dtype="int64")
    boxes = numpy.zeros((n_rows, max_r, 5), dtype="float32")
    region_mask = numpy.zeros((n_rows, max_r), dtype="bool")
    packed: List[numpy.ndarray] = []
    n_packed = 0
    doc_regions = {}
    for row, (i, first, last) in enumerate(rows):
        doc = docs[i]
        spans = numpy.asarray(mentions[i][first:last], dtype="int64").reshape((-1, 2))
        n = spans.shape[0]
        starts[row, :n] = spans[:, 0] + offsets[i]
        ends[row, :n] = spans[:, 1] + offsets[i]
        mention_mask[row, :n] = True
        if extra_width:
            extra[row, :n] = get_extra(doc, spans)
        if i not in doc_regions:
            r_feats, r_labels, r_boxes = _region_arrays(doc, feature_width, label_ids)
            first_feature = None
            if r_feats is not None and feature_width:
                first_feature = n_packed
                packed.append(r_feats)
                n_packed += r_feats.shape[0]
            doc_regions[i] = (first_feature, r_labels, r_boxes)
        first_feature, r_labels, r_boxes = doc_regions[i]
        r = r_boxes.shape[0]
        if r:
            if first_feature is not None:
                feature_index[row, :r] = numpy.arange(first_feature, first_feature + r)
            labels[row, :r] = r_labels
            boxes[row, :r] = r_boxes
            region_mask[row, :r] = True
    feature_index[feature_index < 0] = n_packed
    return {
        "tokvecs": ops.flatten(tokvecs),
        "starts": ops.asarray(starts),
        "ends": ops.asarray(ends),
        "mention_mask": ops.asarray(mention_mask),
        "extra": ops.asarray(extra),
        # Each doc's own array, not a copy: the module projects them one by one.
        "features": [ops.asarray(f) for f in packed],
        "feature_index": ops.asarray(feature_index),
        "labels": ops.asarray(labels),
        "boxes": ops.asarray(boxes),
        "region_mask": ops.asarray(region_mask),
    }, [i for i, _, _ in rows]


def _n_regions(doc: Doc) -> int:
    regions = doc._.image_regions
    return 0 if regions is None else len(regions)


def _region_arrays(doc: Doc, feature_width: int, label_ids: Dict[str, int]):
    regions = doc._.image_regions
    if regions is None or len(regions) == 0:
        return (None, None, numpy.zeros((0, 5), dtype="float32"))
    n = len(regions)
    if regions.features is not None:
        if regions.feature_width != feature_width:
            expected = (
                f"the model was trained without region features (width 0): drop the "
                f"features or retrain with them"
                if feature_width == 0
                else f"the model expects width {feature_width}: use the same feature "
                f"extractor as in training"
            )
            raise RegionsError(
                f"Region features of {doc_name(doc)} have width {regions.feature_width}, "
                f"but {expected}."
            )
        feats = regions.features
    else:
        feats = None
    if regions.labels is not None:
        ids = numpy.asarray([label_ids.get(label.lower(), 0) for label in regions.labels], dtype="int64")
    else:
        ids = numpy.zeros((n,), dtype="int64")
    return feats, ids, regions.normalized_boxes()
