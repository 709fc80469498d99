"""VisPro's pronoun metric: for every referential pronoun of a dialog, the
noun phrases among its candidates that the system puts in the pronoun's
cluster, scored against the annotated antecedents (micro precision, recall
and F1 over all pronouns), split into pronouns whose referent was discussed
in the dialog and those that were not (only the image shows them).

The annotation is `doc._.pronoun_info`, as the jsonlines converter keeps it
from VisPro's files: token spans with inclusive ends over the reference doc.
"""
from typing import Dict, Iterable, List, Optional, Sequence

from spacy.tokens import Doc

from .metrics import Offsets

REFERENTIAL = 0
"""VisPro's `reference_type` of a pronoun that refers to a noun phrase."""
GROUPS = ("all", "discussed", "not_discussed")


def _offsets(doc: Doc, span: Sequence[int]) -> Optional[Offsets]:
    start, end = int(span[0]), int(span[1])
    if not 0 <= start <= end < len(doc):
        return None
    return (doc[start].idx, doc[end].idx + len(doc[end]))


def pronoun_counts(reference: Doc, clusters: Iterable[Iterable[Offsets]]) -> Dict[str, List[int]]:
    """Per group: [antecedents found right, antecedents predicted, antecedents
    annotated] of the referential pronouns of one doc, for the system's
    `clusters` (lists of character offsets)."""
    cluster_of = {mention: i for i, cluster in enumerate(clusters) for mention in cluster}
    counts = {group: [0, 0, 0] for group in GROUPS}
    for info in reference._.pronoun_info or []:
        if info.get("reference_type") != REFERENTIAL:
            continue
        pronoun = _offsets(reference, info["current_pronoun"])
        candidates = {c for c in (_offsets(reference, span) for span in info.get("candidate_NPs", [])) if c}
        correct = {c for c in (_offsets(reference, span) for span in info.get("correct_NPs", [])) if c}
        cluster = cluster_of.get(pronoun)
        predicted = {c for c in candidates if cluster is not None and cluster_of.get(c) == cluster}
        found = [len(predicted & correct), len(predicted), len(correct)]
        for group in ("all", "not_discussed" if info.get("not_discussed") else "discussed"):
            counts[group] = [a + b for a, b in zip(counts[group], found)]
    return counts


def pronoun_scores(references: Sequence[Doc], clusters: Sequence[Iterable[Iterable[Offsets]]]) -> Dict[str, Dict[str, Optional[float]]]:
    """VisPro's precision, recall and F1 of pronoun antecedents over a corpus
    (pooled over its pronouns), per group, with the number of pronouns' annotated
    antecedents (`n`)."""
    totals = {group: [0, 0, 0] for group in GROUPS}
    for reference, doc_clusters in zip(references, clusters):
        for group, found in pronoun_counts(reference, doc_clusters).items():
            totals[group] = [a + b for a, b in zip(totals[group], found)]
    return {group: _prf(*totals[group]) for group in GROUPS}


def _prf(right: int, predicted: int, annotated: int) -> Dict[str, Optional[float]]:
    p = right / predicted if predicted else 0.0
    r = right / annotated if annotated else None
    f = (2 * p * r / (p + r) if p + r else 0.0) if r is not None else None
    return {"p": p, "r": r, "f": f, "n": annotated}


def has_pronoun_info(references: Iterable[Doc]) -> bool:
    """Whether any reference doc carries VisPro pronoun annotation."""
    return any(doc._.pronoun_info for doc in references)

