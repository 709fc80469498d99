"""Gold annotation: clusters in `doc.spans`, boxes on each gold mention."""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY
from ..errors import AlignmentError, Errors
from .regions import ImageRegions
from .clusters import clear_clusters, cluster_key

CharOffsets = Tuple[int, int]
DEFAULT_MENTIONS_KEY = GOLD_MENTIONS_KEY
"""The old name of `mcr_spacy.defaults.GOLD_MENTIONS_KEY`."""


def doc_name(doc: Doc) -> str:
    """A short name for a doc in messages: its `doc_key` (set by the CoNLL and
    jsonlines converters), its image id, or its first words."""
    key = doc.user_data.get("doc_key") if isinstance(doc.user_data, dict) else None
    if key is not None:
        return f"doc {key!r}"
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
        raise AlignmentError(Errors.E020.format(
            doc=doc_name(doc), what=what, text=doc.text[start:end], start=start, end=end,
            tokens=tokens_around(doc, start, end),
        ))
    return span


def tokens_around(doc: Doc, start: int, end: int) -> List[str]:
    """The texts of the tokens that cover characters `[start, end)` of `doc`,
    to show how a tokenizer split a mention that does not align."""
    expanded = doc.char_span(start, end, alignment_mode="expand")
    return [token.text for token in expanded] if expanded is not None else []


def annotate_gold(
    doc: Doc,
    clusters: Sequence[Sequence[CharOffsets]],
    boxes: Optional[Dict[CharOffsets, Sequence[Sequence[float]]]] = None,
    *,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    prefix: Optional[str] = None,
) -> Doc:
    """Write gold clusters to `doc.spans["{span_cluster_prefix}_{i}"]` and gold boxes to
    `span._.grounding = {"boxes": [[x1, y1, x2, y2], ...]}` (pixels).

    clusters: each cluster a list of `(start_char, end_char)` mentions;
        singletons are clusters of one mention.
    boxes: maps a mention's `(start_char, end_char)` to its gold boxes; a mention
        absent from the mapping has no box annotation (`{"boxes": []}`) when
        `boxes` is given, and no grounding at all when it is None.
    prefix: the old name of `span_cluster_prefix`; overrides it when given.
    """
    if prefix is not None:
        span_cluster_prefix = prefix
    clear_clusters(doc, span_cluster_prefix)
    seen: Dict[CharOffsets, int] = {}
    for i, cluster in enumerate(clusters, start=1):
        spans = []
        for start, end in cluster:
            key = (int(start), int(end))
            if key in seen:
                raise AlignmentError(Errors.E021.format(
                    doc=doc_name(doc), text=doc.text[start:end], start=start, end=end, first=seen[key], second=i
                ))
            seen[key] = i
            span = char_span_or_raise(doc, start, end)
            if boxes is not None:
                span._.grounding = {"boxes": [list(map(float, b)) for b in boxes.get(key, [])]}
            spans.append(span)
        doc.spans[cluster_key(span_cluster_prefix, i)] = SpanGroup(doc, name=cluster_key(span_cluster_prefix, i), spans=spans)
    if boxes is not None:
        for key in boxes:
            if tuple(key) not in seen:
                start, end = key
                raise AlignmentError(Errors.E022.format(doc=doc_name(doc), text=doc.text[start:end], start=start, end=end))
    return doc


def set_mentions(doc: Doc, mentions: Iterable[CharOffsets], key: str = GOLD_MENTIONS_KEY) -> Doc:
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
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: Optional[str] = GOLD_MENTIONS_KEY,
    prefix: Optional[str] = None,
) -> Example:
    """A training Example: the predicted doc carries the regions and (unless
    `mentions_key` is None) the gold mentions in `doc.spans[mentions_key]`; the
    reference doc carries the regions, gold clusters and gold boxes. `prefix`
    is the old name of `span_cluster_prefix` and overrides it when given."""
    if prefix is not None:
        span_cluster_prefix = prefix
    reference = annotate_gold(nlp.make_doc(text), clusters, boxes, span_cluster_prefix=span_cluster_prefix)
    reference._.image_regions = regions
    predicted = nlp.make_doc(text)
    predicted._.image_regions = regions
    if mentions_key is not None:
        set_mentions(predicted, [m for cluster in clusters for m in cluster], mentions_key)
        set_mentions(reference, [m for cluster in clusters for m in cluster], mentions_key)
    return Example(predicted, reference)

