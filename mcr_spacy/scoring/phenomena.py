"""Scores broken down by linguistic phenomenon, for data sets that tag each
gold mention (the synthetic set's `synth_phenomena.json`), with the same
model run with and without the image."""
from collections import defaultdict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from ..annotation.boxes import box_iou
from ..defaults import IOU_THRESHOLD
from ..errors import DataFormatError, Errors
from ..annotation.clusters import get_clusters

Offsets = Tuple[int, int]


def antecedents(clusters: Sequence[Sequence[Offsets]]) -> Dict[Offsets, frozenset]:
    """For every mention, the set of earlier mentions in its cluster."""
    out = {}
    for cluster in clusters:
        ordered = sorted(cluster)
        for i, mention in enumerate(ordered):
            out[mention] = frozenset(ordered[:i])
    return out


def phenomenon_scores(
    docs: Sequence[Doc],
    references: Sequence[Doc],
    tagged: Dict[str, Dict[str, Any]],
    *,
    span_cluster_prefix: str,
    mentions_key: str,
) -> Dict[str, Dict[str, Optional[float]]]:
    """Per tag: antecedent accuracy (the mention's earlier predicted
    cluster-mates are exactly its earlier gold cluster-mates, for tagged mentions
    that have a gold antecedent) and grounding accuracy (IoU >= `IOU_THRESHOLD`
    with a gold box of the mention, inclusive pixels; gold boxes from the
    reference docs)."""
    counts: Dict[str, List[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for doc, ref in zip(docs, references):
        regions = ref._.image_regions
        image_id = regions.image_id if regions is not None else None
        if image_id is None or str(image_id) not in tagged:
            raise DataFormatError(Errors.E310.format(text=doc.text[:40], image_id=image_id))
        record = tagged[str(image_id)]
        gold_chains: Dict[int, List[Offsets]] = defaultdict(list)
        for mention in record["mentions"]:
            gold_chains[mention["chain"]].append((mention["start"], mention["end"]))
        gold_ante = antecedents(list(gold_chains.values()))
        predicted = [[(s.start_char, s.end_char) for s in c] for c in get_clusters(doc, span_cluster_prefix)]
        pred_ante = antecedents(predicted)
        boxes = {(s.start_char, s.end_char): s._.grounding for s in doc.spans.get(mentions_key, [])}
        gold_boxes_of = {
            (s.start_char, s.end_char): list((s._.grounding or {}).get("boxes") or [])
            for c in get_clusters(ref, span_cluster_prefix) for s in c
        }
        for mention in record["mentions"]:
            key = (mention["start"], mention["end"])
            for tag in list(mention["tags"]) + ["all"]:
                c = counts[tag]
                if gold_ante[key]:
                    c[1] += 1
                    c[0] += int(pred_ante.get(key, frozenset()) == gold_ante[key])
                gold_boxes = gold_boxes_of.get(key, [])
                if gold_boxes:
                    c[3] += 1
                    pred = (boxes.get(key) or {}).get("box")
                    if pred is not None and box_iou([list(pred)], gold_boxes, inclusive=True).max() >= IOU_THRESHOLD:
                        c[2] += 1
    return {
        tag: {
            "antecedent_acc": (c[0] / c[1]) if c[1] else None,
            "n_with_antecedent": c[1],
            "grounding_acc": (c[2] / c[3]) if c[3] else None,
            "n_with_box": c[3],
        }
        for tag, c in sorted(counts.items())
    }


def compare_with_text_only(
    nlp: Language,
    references: Sequence[Doc],
    tagged: Dict[str, Dict[str, Any]],
    *,
    make_doc: Callable[[Doc], Doc],
    span_cluster_prefix: str,
    mentions_key: str,
) -> Dict[str, Dict[str, Dict[str, Optional[float]]]]:
    """Phenomenon scores of the pipeline with the image regions, and of the same
    pipeline with the regions removed (text only)."""
    results = {}
    for name, keep_regions in (("with_image", True), ("text_only", False)):
        inputs = []
        for ref in references:
            doc = make_doc(ref)
            if not keep_regions:
                doc._.image_regions = None
            inputs.append(doc)
        docs = list(nlp.pipe(inputs))
        results[name] = phenomenon_scores(
            docs, references, tagged, span_cluster_prefix=span_cluster_prefix, mentions_key=mentions_key
        )
    return results
