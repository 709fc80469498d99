"""Reading and writing coreference clusters in `doc.spans`."""
import re
from typing import List, Optional, Tuple

from spacy.tokens import Doc, Span, SpanGroup

from ..defaults import CLUSTER_PREFIX


def cluster_key(span_cluster_prefix: str, index: int) -> str:
    """The `doc.spans` key of cluster `index` (counted from 1)."""
    return f"{span_cluster_prefix}_{index}"


def get_cluster_groups(doc: Doc, span_cluster_prefix: str = CLUSTER_PREFIX) -> List[Tuple[str, SpanGroup]]:
    """The `(key, SpanGroup)` pairs of the clusters stored under `span_cluster_prefix`,
    in the order of their index."""
    pattern = re.compile(re.escape(span_cluster_prefix) + r"_(\d+)$")
    found = []
    for key, group in doc.spans.items():
        match = pattern.match(key)
        if match:
            found.append((int(match.group(1)), key, group))
    found.sort()
    return [(key, group) for _, key, group in found]


def get_clusters(doc: Doc, span_cluster_prefix: str = CLUSTER_PREFIX) -> List[List[Span]]:
    """The clusters stored under `span_cluster_prefix`, each a list of spans."""
    return [list(group) for _, group in get_cluster_groups(doc, span_cluster_prefix)]


def clear_clusters(doc: Doc, span_cluster_prefix: str = CLUSTER_PREFIX) -> None:
    """Remove the cluster groups stored under `span_cluster_prefix`."""
    for key, _ in get_cluster_groups(doc, span_cluster_prefix):
        del doc.spans[key]


def clusters_to_span_group(
    doc: Doc,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    key: Optional[str] = None,
    label_prefix: str = "C",
) -> SpanGroup:
    """Merge all cluster groups into one labelled SpanGroup (labels `C1`, `C2`, …),
    stored under `key` (default `{span_cluster_prefix}_all`), for
    `displacy.render(doc, style="span", options={"spans_key": key})`."""
    key = key or f"{span_cluster_prefix}_all"
    spans = []
    for i, cluster in enumerate(get_clusters(doc, span_cluster_prefix), start=1):
        for span in cluster:
            spans.append(Span(doc, span.start, span.end, label=f"{label_prefix}{i}"))
    spans.sort(key=lambda s: (s.start, s.end))
    group = SpanGroup(doc, name=key, spans=spans)
    doc.spans[key] = group
    return group
