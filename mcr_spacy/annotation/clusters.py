"""Reading and writing coreference clusters in `doc.spans`."""
import re
from typing import List, Optional, Tuple

from spacy.tokens import Doc, Span, SpanGroup

from ..defaults import CLUSTER_PREFIX as DEFAULT_CLUSTER_PREFIX


def cluster_key(prefix: str, index: int) -> str:
    """The `doc.spans` key of cluster `index` (counted from 1)."""
    return f"{prefix}_{index}"


def get_cluster_groups(doc: Doc, prefix: str = DEFAULT_CLUSTER_PREFIX) -> List[Tuple[str, SpanGroup]]:
    """The `(key, SpanGroup)` pairs of the clusters stored under `prefix`,
    in the order of their index."""
    pattern = re.compile(re.escape(prefix) + r"_(\d+)$")
    found = []
    for key, group in doc.spans.items():
        match = pattern.match(key)
        if match:
            found.append((int(match.group(1)), key, group))
    found.sort()
    return [(key, group) for _, key, group in found]


def get_clusters(doc: Doc, prefix: str = DEFAULT_CLUSTER_PREFIX) -> List[List[Span]]:
    """The clusters stored under `prefix`, each a list of spans."""
    return [list(group) for _, group in get_cluster_groups(doc, prefix)]


def clear_clusters(doc: Doc, prefix: str = DEFAULT_CLUSTER_PREFIX) -> None:
    """Remove the cluster groups stored under `prefix`."""
    for key, _ in get_cluster_groups(doc, prefix):
        del doc.spans[key]


def clusters_to_span_group(
    doc: Doc,
    prefix: str = DEFAULT_CLUSTER_PREFIX,
    key: Optional[str] = None,
    label_prefix: str = "C",
) -> SpanGroup:
    """Merge all cluster groups into one labelled SpanGroup (labels `C1`, `C2`, …),
    stored under `key` (default `{prefix}_all`), for
    `displacy.render(doc, style="span", options={"spans_key": key})`."""
    key = key or f"{prefix}_all"
    spans = []
    for i, cluster in enumerate(get_clusters(doc, prefix), start=1):
        for span in cluster:
            spans.append(Span(doc, span.start, span.end, label=f"{label_prefix}{i}"))
    spans.sort(key=lambda s: (s.start, s.end))
    group = SpanGroup(doc, name=key, spans=spans)
    doc.spans[key] = group
    return group
