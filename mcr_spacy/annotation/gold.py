"""Gold annotation: clusters in `doc.spans`, boxes on each gold mention."""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example

from ..defaults import GOLD_MENTIONS_KEY
from ..errors import AlignmentError
from .extensions import DEFAULT_CLUSTER_PREFIX
from .regions import ImageRegions
from .clusters import clear_clusters, cluster_key

CharOffsets = Tuple[int, int]
DEFAULT_MENTIONS_KEY = GOLD_MENTIONS_KEY


def doc_name(doc: Doc) -> str:
    """A short name for a doc in messages: its image id, or its first words."""
    regions = doc._.image_regions if doc.has_extension("image_regions") else None
    if regions is not None and regions.image_id is not None:
        return f"doc for image {regions.image_id!r}"
    text = doc.text if len(doc.text) <= 40 else doc.text[:37] + "..."
    return f"doc {text!r}"


def char_span_or_raise(doc: Doc, start: int, end: int, *, what: str = "mention") -> Span:
    """The span of `doc` at character offsets `[start, end)`, or an AlignmentError
    that names the doc, the offsets and the fix."""
    span = doc.char_span(int(start), int(end))
    if span is None:
        raise AlignmentError(
            f"In {doc_name(doc)}: {what} {doc.text[start:end]!r} at characters "
            f"[{start}, {end}) does not align with token boundaries "
            f"(tokens: {[t.text for t in doc.char_span(start, end, alignment_mode='expand') or []]}). "
            f"Fix the offsets so that they start and end on tokens, or tokenize so "
            f"that the mention is a whole number of tokens."
        )
    return span


def annotate_gold(
    doc: Doc,
    clusters: Sequence[Sequence[CharOffsets]],
    boxes: Optional[Dict[CharOffsets, Sequence[Sequence[float]]]] = None,
    *,
    prefix: str = DEFAULT_CLUSTER_PREFIX,
) -> Doc:
    """Write gold clusters to `doc.spans["{prefix}_{i}"]` and gold boxes to
    `span._.grounding = {"boxes": [[x1, y1, x2, y2], ...]}` (pixels).

    clusters: each cluster a list of `(start_char, end_char)` mentions;
        singletons are clusters of one mention.
    boxes: maps a mention's `(start_char, end_char)` to its gold boxes; a mention
        absent from the mapping has no box annotation (`{"boxes": []}`) when
        `boxes` is given, and no grounding at all when it is None.
    """
    clear_clusters(doc, prefix)
    seen: Dict[CharOffsets, int] = {}
    for i, cluster in enumerate(clusters, start=1):
        spans = []
        for start, end in cluster:
            key = (int(start), int(end))
            if key in seen:
                raise AlignmentError(
                    f"In {doc_name(doc)}: mention {doc.text[start:end]!r} at "
                    f"[{start}, {end}) is in clusters {seen[key]} and {i}. A mention "
                    f"belongs to one cluster: merge the clusters or drop the duplicate."
                )
            seen[key] = i
            span = char_span_or_raise(doc, start, end)
            if boxes is not None:
                span._.grounding = {"boxes": [list(map(float, b)) for b in boxes.get(key, [])]}
            spans.append(span)
        doc.spans[cluster_key(prefix, i)] = SpanGroup(doc, name=cluster_key(prefix, i), spans=spans)
    if boxes is not None:
        for key in boxes:
            if tuple(key) not in seen:
                start, end = key
                raise AlignmentError(
                    f"In {doc_name(doc)}: boxes are given for {doc.text[start:end]!r} at "
                    f"[{start}, {end}), which is in no cluster. Add it to a cluster "
                    f"(a singleton is a cluster of one mention)."
                )
    return doc


def set_mentions(doc: Doc, mentions: Iterable[CharOffsets], key: str = DEFAULT_MENTIONS_KEY) -> Doc:
    """Store mentions given as character offsets in `doc.spans[key]`."""
    spans = [char_span_or_raise(doc, start, end) for start, end in mentions]
    spans.sort(key=lambda s: (s.start, s.end))
    doc.spans[key] = SpanGroup(doc, name=key, spans=spans)
    return doc


def make_example(
    nlp: Language,
    text: str,
    clusters: Sequence[Sequence[CharOffsets]],
    boxes: Optional[Dict[CharOffsets, Sequence[Sequence[float]]]] = None,
    regions: Optional[ImageRegions] = None,
    *,
    prefix: str = DEFAULT_CLUSTER_PREFIX,
    mentions_key: Optional[str] = DEFAULT_MENTIONS_KEY,
) -> Example:
    """A training Example: the predicted doc carries the regions and (unless
    `mentions_key` is None) the gold mentions in `doc.spans[mentions_key]`; the
    reference doc carries the regions, gold clusters and gold boxes."""
    reference = annotate_gold(nlp.make_doc(text), clusters, boxes, prefix=prefix)
    reference._.image_regions = regions
    predicted = nlp.make_doc(text)
    predicted._.image_regions = regions
    if mentions_key is not None:
        set_mentions(predicted, [m for cluster in clusters for m in cluster], mentions_key)
        set_mentions(reference, [m for cluster in clusters for m in cluster], mentions_key)
    return Example(predicted, reference)


def gold_mentions(doc: Doc, prefix: str = DEFAULT_CLUSTER_PREFIX) -> List[Tuple[Span, int]]:
    """Every gold mention of `doc` with the index (from 0) of its cluster."""
    from .clusters import get_clusters

    return [(span, i) for i, cluster in enumerate(get_clusters(doc, prefix)) for span in cluster]
