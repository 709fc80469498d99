"""Predictions beside gold: matching colours, right/wrong marks and the
per-doc scores shown in the page header."""
import itertools
from typing import Dict, Optional

from ..annotation.boxes import box_iou
from ..defaults import IOU_THRESHOLD
from .view_model import PALETTE, Side, golden_colour, predicted_box


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


def mark(pred: Side, gold: Side) -> None:
    """Mark each predicted mention's cluster and box right or wrong."""
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
        gold_boxes = g.gold_boxes or []
        if gold_boxes:
            box = predicted_box(m)
            if box is None:
                m.box_ok, m.best_iou = False, None
            else:
                m.best_iou = float(box_iou([box], gold_boxes, inclusive=True).max())
                m.box_ok = m.best_iou >= IOU_THRESHOLD


def view_scores(pred: Side, gold: Side) -> Dict[str, Optional[float]]:
    """Per-doc numbers shown in the page header: grounding accuracy (each
    (gold mention, gold box) pair is right when the mention's predicted box has
    IoU >= 0.5 with it), the share of gold mentions found, and the share of
    predicted gold mentions whose cluster has exactly the right gold mates."""
    right = total = 0
    for g in gold.mentions.values():
        boxes = g.gold_boxes or []
        m = pred.mentions.get(g.mid)
        box = None if m is None else predicted_box(m)
        total += len(boxes)
        if box is not None and boxes:
            right += int((box_iou([box], boxes, inclusive=True) >= IOU_THRESHOLD).sum())
    found = [m for m in pred.mentions.values() if m.gold is not None]
    coref = [m for m in found if m.coref_ok is not None]
    return {
        "grounding_acc": right / total if total else None,
        "mention_recall": (len(found) / len(gold.mentions)) if gold.mentions else None,
        "coref_right": (sum(m.coref_ok for m in coref) / len(coref)) if coref else None,
    }
