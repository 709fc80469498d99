"""Baselines for coreference and grounding, scored like a model.

Each function takes the mentions of one doc (spans) and returns what
`mcr_spacy.scoring.scorer.predictions_from_doc` returns for a model: clusters as lists
of `(start_char, end_char)`, or a dict `(start_char, end_char) -> box or None`.
"""
from typing import Dict, Iterable, List, Optional, Sequence

from spacy.tokens import Span

from ..annotation.label_names import singular
from ..annotation.mention_attributes import DETERMINERS, compatible, head_word, normalized_text, pronoun_class
from ..pipeline.decoding import UnionFind
from ..annotation.regions import ImageRegions
from .metrics import Offsets
from .scorer import offsets

# Label words a pronoun may refer to, for label-based grounding.
PRONOUN_LABELS = {
    "male": ("man", "boy", "person", "men", "guy", "player"),
    "female": ("woman", "girl", "lady", "person", "women", "player"),
    "person": ("person", "man", "woman", "people", "boy", "girl", "child", "player"),
    "plural": ("people", "men", "women", "persons", "children", "person"),
}


def _sorted(mentions: Iterable[Span]) -> List[Span]:
    unique = {offsets(span): span for span in mentions}
    return [unique[key] for key in sorted(unique)]


def singleton_clusters(mentions: Iterable[Span]) -> List[List[Offsets]]:
    """Baseline: every mention its own cluster."""
    return [[offsets(span)] for span in _sorted(mentions)]


def string_match_clusters(mentions: Iterable[Span], *, head_match: bool = True) -> List[List[Offsets]]:
    """Baseline with text-only rules: non-pronoun mentions with the same
    normalised text (or, with `head_match`, the same head word) corefer; a
    pronoun joins the nearest preceding mention compatible in gender, number
    and animacy ("he" -> a man, "it" -> a thing, "they" -> a plural)."""
    spans = _sorted(mentions)
    uf = UnionFind(len(spans))
    by_text: Dict[str, int] = {}
    by_head: Dict[str, int] = {}
    for i, span in enumerate(spans):
        cls = pronoun_class(span)
        if cls is not None:
            for j in range(i - 1, -1, -1):
                other = spans[j]
                if other.end_char > span.start_char:  # nested or overlapping
                    continue
                if compatible(cls, other):
                    uf.union(i, j)
                    break
            continue
        text = normalized_text(span)
        if text:
            if text in by_text:
                uf.union(i, by_text[text])
            else:
                by_text[text] = i
        head = head_word(span)
        if head_match and head and head not in DETERMINERS:
            if head in by_head:
                uf.union(i, by_head[head])
            else:
                by_head[head] = i
    return [[offsets(spans[i]) for i in group] for group in uf.groups()]


def _areas(regions: ImageRegions) -> List[float]:
    return [float((b[2] - b[0] + 1) * (b[3] - b[1] + 1)) for b in regions.boxes]


def _largest(regions: Optional[ImageRegions]) -> Optional[List[float]]:
    if regions is None or len(regions) == 0:
        return None
    areas = _areas(regions)
    best = max(range(len(areas)), key=lambda i: (areas[i], -i))
    return [float(v) for v in regions.boxes[best]]


def largest_region_grounding(
    mentions: Iterable[Span], regions: Optional[ImageRegions]
) -> Dict[Offsets, Optional[List[float]]]:
    """Baseline: every mention grounded to the largest detected region (None
    when the image has no regions)."""
    box = _largest(regions)
    return {offsets(span): (None if box is None else list(box)) for span in _sorted(mentions)}


def _label_score(targets: Sequence[str], label: str) -> float:
    words = label.lower().replace("_", " ").split()
    if not words:
        return 0.0
    best = 0.0
    for target in targets:
        if target == words[-1]:
            best = max(best, 3.0)
        elif singular(target) == singular(words[-1]):
            best = max(best, 2.0)
        elif any(target == w or singular(target) == singular(w) for w in words):
            best = max(best, 1.0)
    return best


def label_match_grounding(
    mentions: Iterable[Span], regions: Optional[ImageRegions]
) -> Dict[Offsets, Optional[List[float]]]:
    """Baseline: each mention grounded to the region whose detector label best
    matches its head word (exact word, then singular/plural forms; pronouns
    match person labels by gender). Ties go to the more confident, then the
    larger region; a mention matching no label, or regions without labels, fall
    back to the largest region."""
    spans = _sorted(mentions)
    fallback = _largest(regions)
    if regions is None or len(regions) == 0 or not regions.labels:
        return {offsets(span): (None if fallback is None else list(fallback)) for span in spans}
    areas = _areas(regions)
    confidences = [0.0] * len(regions) if regions.scores is None else [float(s) for s in regions.scores]
    result: Dict[Offsets, Optional[List[float]]] = {}
    for span in spans:
        cls = pronoun_class(span)
        targets: Sequence[str] = PRONOUN_LABELS.get(cls, ()) if cls is not None else (head_word(span),)
        scored = [(_label_score(targets, label), confidences[i], areas[i], -i) for i, label in enumerate(regions.labels)]
        best = max(range(len(scored)), key=lambda i: scored[i])
        if scored[best][0] > 0:
            result[offsets(span)] = [float(v) for v in regions.boxes[best]]
        else:
            result[offsets(span)] = None if fallback is None else list(fallback)
    return result


TEXT_BASELINES = {
    "singletons": singleton_clusters,
    "string_match": string_match_clusters,
}
GROUNDING_BASELINES = {
    "largest_region": largest_region_grounding,
    "label_match": label_match_grounding,
}
