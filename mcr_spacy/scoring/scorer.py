"""Gold and predictions read from docs, the flat scores of `score`, and the
registered scorer that `spacy train` and `spacy evaluate` call."""
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from ..annotation.clusters import get_cluster_groups
from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY, PREDICTED_MENTIONS_KEY
from .metrics import Offsets, coref_metrics, grounding_accuracy, mention_detection

# A grounding's list of boxes (several regions per mention) beside its one box.
BOX_LISTS = {"box": "boxes", "refined_box": "refined_boxes"}
FLAT_KEYS = (
    "coref_muc_f", "coref_b3_f", "coref_ceafe_f", "coref_blanc_f", "coref_lea_f",
    "coref_conll_f", "grounding_acc", "grounding_acc_noun", "grounding_acc_pronoun",
)


# --------------------------------------------------------------------------
# Reading gold and predictions from docs


def offsets(span: Span) -> Offsets:
    """A mention's id: its character offsets, so that docs tokenised
    differently still compare."""
    return (span.start_char, span.end_char)


def _as_mapping(value: Any) -> Optional[Mapping]:
    return value if isinstance(value, Mapping) else None


def gold_from_doc(
    doc: Doc,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: Optional[str] = GOLD_MENTIONS_KEY,
) -> Tuple[List[List[Offsets]], List[Tuple[Offsets, str, List[List[float]]]]]:
    """Gold clusters (character offsets) and grounding items of a reference doc.
    Mentions in `doc.spans[mentions_key]` outside every cluster are singletons.
    A mention counts for grounding when its `span._.grounding["boxes"]` is a
    non-empty list."""
    clusters: List[List[Offsets]] = []
    items: List[Tuple[Offsets, str, List[List[float]]]] = []
    seen = set()

    def add(span: Span) -> Optional[Offsets]:
        key = offsets(span)
        if key in seen:
            return None
        seen.add(key)
        grounding = _as_mapping(span._.grounding)
        boxes = grounding.get("boxes") if grounding is not None else None
        if boxes:
            items.append((key, span.text, [list(map(float, b)) for b in boxes]))
        return key

    for _, group in get_cluster_groups(doc, span_cluster_prefix):
        cluster = [key for key in (add(span) for span in group) if key is not None]
        if cluster:
            clusters.append(cluster)
    if mentions_key and mentions_key in doc.spans:
        for span in doc.spans[mentions_key]:
            key = add(span)
            if key is not None:
                clusters.append([key])
    return clusters, items


def predictions_from_doc(
    doc: Doc,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: Optional[str] = PREDICTED_MENTIONS_KEY,
    box_key: str = "box",
    several: bool = False,
) -> Tuple[List[List[Offsets]], Dict[Offsets, Any]]:
    """Predicted clusters (character offsets) and boxes of a predicted doc.
    Mentions in `doc.spans[mentions_key]` outside every cluster are singletons.
    A mention's box is `span._.grounding[box_key]`, else its cluster's
    `attrs["grounding"][box_key]`, else None. With `several`, a mention's
    value is a list of boxes, best first: the grounding's list beside its box
    (`BOX_LISTS`, "boxes" for "box") when it has one, else `[box]`, else None."""
    clusters: List[List[Offsets]] = []
    boxes: Dict[Offsets, Any] = {}
    list_key = BOX_LISTS.get(box_key) if several else None

    def box_of(grounding: Any) -> Any:
        grounding = _as_mapping(grounding)
        if grounding is None:
            return None
        found = grounding.get(list_key) if list_key else None
        if found:
            return [[float(v) for v in box] for box in found]
        box = grounding.get(box_key)
        if box is None:
            return None
        box = [float(v) for v in box]
        return [box] if several else box

    for _, group in get_cluster_groups(doc, span_cluster_prefix):
        cluster_box = box_of(group.attrs.get("grounding"))
        cluster = []
        for span in group:
            key = offsets(span)
            if key in boxes:
                continue
            own = box_of(span._.grounding)
            boxes[key] = own if own is not None else cluster_box
            cluster.append(key)
        if cluster:
            clusters.append(cluster)
    if mentions_key and mentions_key in doc.spans:
        for span in doc.spans[mentions_key]:
            key = offsets(span)
            if key not in boxes:
                boxes[key] = box_of(span._.grounding)
                clusters.append([key])
    return clusters, boxes


def flat_scores(coref: Mapping[str, Any], grounding: Mapping[str, Any]) -> Dict[str, Optional[float]]:
    """The flat score keys shown by `spacy train` and `spacy evaluate`."""
    return {
        "coref_muc_f": coref["muc"]["f"],
        "coref_b3_f": coref["b3"]["f"],
        "coref_ceafe_f": coref["ceafe"]["f"],
        "coref_blanc_f": coref["blanc"]["f"],
        "coref_lea_f": coref["lea"]["f"],
        "coref_conll_f": coref["conll_f"],
        "grounding_acc": grounding["acc"],
        "grounding_acc_noun": grounding["acc_noun"],
        "grounding_acc_pronoun": grounding["acc_pronoun"],
    }


def evaluate_examples(
    examples: Iterable[Example],
    *,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: Optional[str] = PREDICTED_MENTIONS_KEY,
    gold_mentions_key: Optional[str] = GOLD_MENTIONS_KEY,
    box_key: str = "box",
    singletons: bool = True,
    refined_box_key: Optional[str] = None,
) -> Dict[str, Any]:
    """Full results for examples: `{"coref": coref_metrics(...), "mentions":
    mention_detection(...), "grounding": grounding_accuracy(...), "scores":
    flat_scores(...)}`. Gold comes from `example.reference`, predictions from
    `example.predicted`. Without `singletons`, one-mention clusters of both
    are left out of the coreference and mention figures, as the CoNLL-2012
    task scores OntoNotes (which annotates none, nor does VisPro). With
    `refined_box_key` (e.g. "refined_box", the box head's refined boxes),
    `"grounding_refined"` scores those boxes by the same IoU rule over the
    same gold boxes. A mention grounded to several regions (its grounding's
    "boxes", see `BOX_LISTS`) is scored with all of them, one gold box per
    predicted box (`grounding_accuracy`, which also gives their precision)."""
    gold_clusters, pred_clusters, gold_items, pred_boxes, refined_boxes = [], [], [], [], []
    for eg in examples:
        if refined_box_key is not None:
            refined_boxes.append(predictions_from_doc(eg.predicted, span_cluster_prefix, mentions_key, refined_box_key, True)[1])
        g_clusters, g_items = gold_from_doc(eg.reference, span_cluster_prefix, gold_mentions_key)
        p_clusters, p_boxes = predictions_from_doc(eg.predicted, span_cluster_prefix, mentions_key, box_key, True)
        gold_clusters.append(g_clusters if singletons else without_singletons(g_clusters))
        gold_items.append(g_items)
        pred_clusters.append(p_clusters if singletons else without_singletons(p_clusters))
        pred_boxes.append(p_boxes)
    coref = coref_metrics(gold_clusters, pred_clusters)
    grounding = grounding_accuracy(gold_items, pred_boxes)
    results = {
        "coref": coref,
        "mentions": mention_detection(gold_clusters, pred_clusters),
        "grounding": grounding,
        "scores": flat_scores(coref, grounding),
    }
    if refined_box_key is not None:
        results["grounding_refined"] = grounding_accuracy(gold_items, refined_boxes)
    return results


def without_singletons(clusters: List[List[Offsets]]) -> List[List[Offsets]]:
    """The clusters of more than one mention."""
    return [cluster for cluster in clusters if len(cluster) > 1]


@registry.scorers("mcr_spacy.multimodal_coref_scorer.v1")
def make_multimodal_coref_scorer(
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = PREDICTED_MENTIONS_KEY,
    gold_mentions_key: str = GOLD_MENTIONS_KEY,
    box_key: str = "box",
    singletons: bool = True,
) -> Callable[..., Dict[str, Optional[float]]]:
    """The scorer of the multimodal_coref component: `score(examples, **kwargs)`
    returns the flat keys `coref_muc_f`, `coref_b3_f`, `coref_ceafe_f`,
    `coref_blanc_f`, `coref_lea_f`, `coref_conll_f`, `grounding_acc`,
    `grounding_acc_noun`, `grounding_acc_pronoun` (grounding keys are None
    when the gold has no boxes). `span_cluster_prefix` and `mentions_key` may
    be overridden per call; other keyword arguments are ignored. Without
    `singletons`, one-mention clusters are not scored (see `evaluate_examples`)."""
    return MultimodalCorefScorer(span_cluster_prefix, mentions_key, gold_mentions_key, box_key, singletons)


class MultimodalCorefScorer:
    """The function `make_multimodal_coref_scorer` returns: a class rather
    than a closure so that pipelines holding it pickle (`nlp.pipe(n_process=...)`
    with the spawn start method)."""

    def __init__(
        self, span_cluster_prefix: str, mentions_key: str, gold_mentions_key: str, box_key: str,
        singletons: bool = True,
    ) -> None:
        self.singletons = singletons
        self.span_cluster_prefix = span_cluster_prefix
        self.mentions_key = mentions_key
        self.gold_mentions_key = gold_mentions_key
        self.box_key = box_key

    def __call__(self, examples: Iterable[Example], **kwargs: Any) -> Dict[str, Optional[float]]:
        results = evaluate_examples(
            examples,
            span_cluster_prefix=kwargs.get("span_cluster_prefix") or self.span_cluster_prefix,
            mentions_key=kwargs.get("mentions_key") or self.mentions_key,
            gold_mentions_key=self.gold_mentions_key,
            box_key=self.box_key,
            singletons=self.singletons,
        )
        return results["scores"]
