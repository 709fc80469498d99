"""Grounding scored by detector labels, for data whose regions have labels but
whose mentions have no gold boxes (VisPro's COCO detections): a gold mention
counts when its gold cluster's noun phrases name one or more of its image's
region labels ("a man ... he": "person"), and is right when the region the
system grounds it to has one of those labels. Pronouns are scored through
their cluster, so this is how well the system tells what a pronoun refers to
in the image. With label-only regions several regions of one label cannot be
told apart, so labels are all that can be scored."""
from typing import Dict, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc

from ..annotation.clusters import get_cluster_groups
from ..annotation.label_names import names_label
from ..annotation.mention_attributes import pronoun_class
from .metrics import Offsets
from .scorer import offsets

KINDS = ("all", "noun", "pronoun")
TABLE_ROWS = (("all", "acc", "n"), ("noun phrases", "acc_noun", "n_noun"), ("pronouns", "acc_pronoun", "n_pronoun"))
"""(row name, accuracy key, count key) of the tables that show these scores."""


def labelled_mentions(reference: Doc, prefix: str) -> List[Tuple[Offsets, bool, Set[str]]]:
    """(offsets, is a pronoun, labels its cluster names) of every gold mention
    of `reference` whose cluster has no gold boxes and names at least one of
    its region labels."""
    regions = reference._.image_regions
    if regions is None or not regions.labels:
        return []
    labels = {label for label in regions.labels if label}
    found = []
    for _, group in get_cluster_groups(reference, prefix):
        if any("boxes" in (span._.grounding or {}) for span in group):
            continue  # scored by its gold boxes
        named = {label for span in group for label in labels if names_label(span, label)}
        if named:
            found.extend((offsets(span), pronoun_class(span) is not None, named) for span in group)
    return found


def predicted_labels(doc: Doc, mentions_key: str) -> Dict[Offsets, Optional[str]]:
    """The label of the region each predicted mention is grounded to (None
    for "no region" or an unlabelled region)."""
    regions = doc._.image_regions
    labels = list(regions.labels) if regions is not None and regions.labels else []
    found: Dict[Offsets, Optional[str]] = {}
    for span in doc.spans.get(mentions_key, []):
        region = (span._.grounding or {}).get("region")
        found[offsets(span)] = labels[region] if region is not None and region < len(labels) else None
    return found


def majority_labels(doc: Doc, mentions_key: str) -> Dict[Offsets, Optional[str]]:
    """A baseline: every mention grounded to its image's most frequent label
    (ties: the first detected)."""
    regions = doc._.image_regions
    labels = [label for label in (regions.labels or []) if label] if regions is not None else []
    best = max(labels, key=labels.count) if labels else None
    return {offsets(span): best for span in doc.spans.get(mentions_key, [])}


def label_grounding_accuracy(
    labelled: Sequence[List[Tuple[Offsets, bool, Set[str]]]], predictions: Sequence[Dict[Offsets, Optional[str]]]
) -> Optional[Dict[str, Optional[float]]]:
    """Accuracy ("acc", "acc_noun", "acc_pronoun") and counts ("n", "n_noun",
    "n_pronoun") of the `predictions` (per doc, the label each mention is
    grounded to) over each doc's `labelled_mentions`; None when no doc has
    one."""
    right = {kind: 0 for kind in KINDS}
    total = {kind: 0 for kind in KINDS}
    for doc_labelled, predicted in zip(labelled, predictions):
        for key, is_pronoun, named in doc_labelled:
            ok = predicted.get(key) in named
            for kind in ("all", "pronoun" if is_pronoun else "noun"):
                right[kind] += ok
                total[kind] += 1
    if not total["all"]:
        return None
    result: Dict[str, Optional[float]] = {}
    for kind in KINDS:
        name = "acc" if kind == "all" else f"acc_{kind}"
        result[name] = right[kind] / total[kind] if total[kind] else None
        result["n" if kind == "all" else f"n_{kind}"] = total[kind]
    return result
