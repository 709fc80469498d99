"""Predictions beside gold: matching colours, right/wrong marks and the
per-doc scores shown in the page header.

Boxes are graded by the scorer's own functions (`gold_from_doc`,
`predictions_from_doc`, `grounding_accuracy` of `mcr_spacy.scoring.metrics`),
so that a page's figure is the one the `visualize` index computes for the
doc with the same functions.
"""
import itertools
from typing import Dict, Optional

from spacy.tokens import Doc

from ..defaults import IOU_THRESHOLD
from ..scoring.metrics import Offsets, box_iou_inclusive, grounding_accuracy
from ..scoring.scorer import gold_from_doc, predictions_from_doc
from .view_model import PALETTE, Box, Side, golden_colour, mention_id


def grade_boxes(pred: Side, doc: Doc, prefix: str, mentions_key: Optional[str]) -> Dict[Offsets, Optional[Box]]:
    """Set each predicted mention's `graded_box`, the box the scorer grades:
    its own, else its cluster's. RETURNS the scorer's boxes by offsets."""
    _, boxes = predictions_from_doc(doc, prefix, mentions_key)
    for m in pred.mentions.values():
        m.graded_box = boxes.get((m.start_char, m.end_char))
    return boxes


def match_colours(pred: Side, gold: Side) -> None:
    """Give each gold cluster the colour of the predicted cluster that holds most
    of its mentions, so that a right cluster looks the same on both sides."""
    taken = set()
    used = {c.colour for c in pred.clusters if not c.singleton}
    spare = (c for c in itertools.chain(PALETTE, (golden_colour(i) for i in itertools.count(100))) if c not in used)
    for cluster in gold.clusters:
        if cluster.singleton:
            continue
        counts: Dict[str, int] = {}
        for m in cluster.mentions:
            p = pred.mentions.get(m.mid)
            if p is not None and p.cluster is not None and not p.cluster.singleton:
                counts[p.cluster.cid] = counts.get(p.cluster.cid, 0) + 1
        best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        match = next((cid for cid, _ in best if cid not in taken), None)
        if match is not None:
            taken.add(match)
            cluster.colour = next(c.colour for c in pred.clusters if c.cid == match)
        else:
            cluster.colour = next(spare)


def mark_clusters(pred: Side, gold: Side) -> None:
    """Mark each predicted mention's cluster right or wrong."""
    for g in gold.mentions.values():
        g.found = g.mid in pred.mentions
    for m in pred.mentions.values():
        g = gold.mentions.get(m.mid)
        m.gold = g
        if g is None:
            if m.cluster is not None and not m.cluster.singleton:
                m.coref_ok, m.coref_note = False, "not a gold mention"
            continue
        pred_mates = {
            o.mid for o in (m.cluster.mentions if m.cluster and not m.cluster.singleton else [])
            if o.mid != m.mid and o.mid in gold.mentions
        }
        gold_mates = {o.mid for o in (g.cluster.mentions if g.cluster else []) if o.mid != m.mid}
        m.coref_ok = pred_mates == gold_mates
        if m.coref_ok:
            m.coref_note = "cluster right" if gold_mates else "singleton, right"
        else:
            missing = len(gold_mates - pred_mates)
            extra = len(pred_mates - gold_mates)
            m.coref_note = f"cluster wrong: {missing} gold mate(s) missing, {extra} wrong mate(s)"


def mark_boxes(
    pred: Side,
    pred_boxes: Dict[Offsets, Optional[Box]],
    reference: Doc,
    prefix: str,
    mentions_key: Optional[str],
) -> Optional[float]:
    """Mark the box of each predicted mention that has gold boxes right (IoU >=
    the threshold with one of them) or wrong, and return the doc's grounding
    accuracy: each (gold mention, gold box) pair is right when the mention's
    graded box has IoU >= the threshold with it; None without gold boxes."""
    _, gold_items = gold_from_doc(reference, prefix, mentions_key)
    for (start, end), _, gold_boxes in gold_items:
        m = pred.mentions.get(mention_id(start, end))
        if m is None:
            continue
        box = pred_boxes.get((start, end))
        m.best_iou = None if box is None else max(box_iou_inclusive(box, b) for b in gold_boxes)
        m.box_ok = m.best_iou is not None and m.best_iou >= IOU_THRESHOLD
    return grounding_accuracy([gold_items], [pred_boxes])["acc"]


def view_scores(pred: Side, gold: Side, grounding_acc: Optional[float]) -> Dict[str, Optional[float]]:
    """Per-doc numbers shown in the page header: grounding accuracy (from
    `mark_boxes`), the share of gold mentions found, and the share of
    predicted gold mentions whose cluster has exactly the right gold mates."""
    found = [m for m in pred.mentions.values() if m.gold is not None]
    coref = [m for m in found if m.coref_ok is not None]
    return {
        "grounding_acc": grounding_acc,
        "mention_recall": (len(found) / len(gold.mentions)) if gold.mentions else None,
        "coref_right": (sum(m.coref_ok for m in coref) / len(coref)) if coref else None,
    }
