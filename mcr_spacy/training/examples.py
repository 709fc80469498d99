"""What the pipeline is given for a stored reference doc: one rule, used by the
corpus readers (training), `evaluate`, `phenomena` and `visualize`.

The rule: the predicted doc is `nlp.make_doc(reference.text)` with the
reference's `doc._.image_regions` and `doc._.trace_boxes` (the same objects,
not copies). With gold mentions, `doc.spans[mentions_key]` holds every gold
mention of the reference: the mentions of its gold clusters
(`doc.spans["{span_cluster_prefix}_1"]`, ...) and the spans of
`reference.spans[mentions_key]` (singletons outside every cluster), once per
character offsets, in text order. These are exactly the mentions the scorer
counts as gold (`mcr_spacy.scoring.scorer.gold_from_doc`). A reference with
neither (an unlabelled doc) gets no mentions group, so the component's mention
getter decides. A gold mention whose offsets do not fall on the tokens of
`nlp`'s tokenizer raises AlignmentError (E205). Nothing else (clusters, boxes,
entities) reaches the predicted doc.
"""
import bisect
from typing import Any, List, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import filter_spans

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY
from ..errors import AlignmentError, Errors
from ..annotation.gold import doc_name, tokens_around
from ..annotation.clusters import get_cluster_groups


def gold_mention_spans(
    reference: Doc, mentions_key: str = GOLD_MENTIONS_KEY, span_cluster_prefix: str = CLUSTER_PREFIX
) -> Optional[List[Span]]:
    """The gold mentions of a reference doc: the mentions of its gold clusters,
    then those of `reference.spans[mentions_key]` (repeats included). None when
    the doc has neither clusters nor that group."""
    groups = get_cluster_groups(reference, span_cluster_prefix)
    if not groups and mentions_key not in reference.spans:
        return None
    spans = [span for _, group in groups for span in group]
    if mentions_key in reference.spans:
        spans.extend(reference.spans[mentions_key])
    return spans


def make_predicted_doc(
    nlp: Language,
    reference: Doc,
    *,
    gold_mentions: bool = False,
    mentions_key: str = GOLD_MENTIONS_KEY,
    span_cluster_prefix: str = CLUSTER_PREFIX,
) -> Doc:
    """The doc the pipeline gets for `reference`, by the rule of this module:
    its text, regions, trace boxes and speakers (each token gets the speaker
    of the reference token its first character falls in), and with
    `gold_mentions` its gold mentions in `doc.spans[mentions_key]`."""
    predicted = nlp.make_doc(reference.text)
    predicted._.image_regions = reference._.image_regions
    predicted._.trace_boxes = reference._.trace_boxes
    if reference._.speakers is not None:
        predicted._.speakers = align_token_values(reference, predicted, reference._.speakers)
    if gold_mentions:
        spans = gold_mention_spans(reference, mentions_key, span_cluster_prefix)
        if spans is not None:
            predicted.spans[mentions_key] = _align_mentions(predicted, reference, spans, mentions_key)
    return predicted


def align_token_values(reference: Doc, predicted: Doc, values: List[Any]) -> List[Any]:
    """Per-token `values` of `reference` carried to the tokens of `predicted`
    (same text, maybe tokenised otherwise): each predicted token takes the
    value of the reference token that holds its first character."""
    if len(reference) == len(predicted) and all(a.idx == b.idx for a, b in zip(reference, predicted)):
        return list(values)
    starts = [token.idx for token in reference]
    return [values[max(0, bisect.bisect_right(starts, token.idx) - 1)] for token in predicted]


def _align_mentions(predicted: Doc, reference: Doc, spans: List[Span], key: str) -> SpanGroup:
    aligned = {}
    for span in spans:
        start, end = span.start_char, span.end_char
        if (start, end) in aligned:
            continue
        new = predicted.char_span(start, end)
        if new is None:
            raise AlignmentError(Errors.E205.format(
                doc=doc_name(reference), text=span.text, start=start, end=end,
                tokens=tokens_around(predicted, start, end),
            ))
        aligned[(start, end)] = new
    ordered = sorted(aligned.values(), key=lambda s: (s.start, s.end))
    return SpanGroup(predicted, name=key, spans=ordered)


def mentions_to_entities(
    reference: Doc, label: str, mentions_key: str = GOLD_MENTIONS_KEY, span_cluster_prefix: str = CLUSTER_PREFIX
) -> None:
    """Make the reference's gold mentions (`gold_mention_spans`) its entities
    with `label` (longest first where they overlap, as entities cannot nest),
    to train an entity recognizer as a mention detector."""
    spans = gold_mention_spans(reference, mentions_key, span_cluster_prefix) or []
    reference.ents = [Span(reference, span.start, span.end, label=label) for span in filter_spans(spans)]
