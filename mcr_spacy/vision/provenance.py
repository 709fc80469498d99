"""What regions a model was trained on, and the check that it gets the same
kind: a trained multimodal_coref component records in its cfg ("regions")
the extractor its training regions came from, their feature width and their
label set; at prediction, regions from another extractor of another width
are refused with an error that names both. A model trained on label-only
regions accepts regions of any detector with labels of the same set."""
from collections import Counter
from typing import Any, Dict, Iterable, Optional

from spacy.language import Language
from spacy.tokens import Doc

from ..annotation.gold import doc_name
from ..convert.jsonlines import COCO_CLASSES
from ..errors import Errors, RegionsError
from .extractor import WHOLE_IMAGE_LABEL

COCO_LABELS = frozenset(COCO_CLASSES.values())
UNRECORDED = "an unrecorded extractor"


def label_set(labels: Iterable[str]) -> Optional[str]:
    """"coco" when every detector label (the whole-image region's aside) is a
    COCO class name, "other" when some is not, None without labels."""
    names = {label.lower() for label in labels if label != WHOLE_IMAGE_LABEL}
    if not names:
        return None
    return "coco" if names <= COCO_LABELS else "other"


def describe_regions(docs: Iterable[Doc], feature_width: Optional[int]) -> Dict[str, Any]:
    """The record of a model's training regions: the extractor most of them
    came from (None when unrecorded), the feature width the model was built
    with (0: label-only) and the label set of their labels."""
    extractors: Counter = Counter()
    labels = set()
    for doc in docs:
        regions = doc._.image_regions
        if regions is None or not len(regions):
            continue
        extractors[regions.extractor] += 1
        labels.update(regions.labels or [])
    return {
        "extractor": extractors.most_common(1)[0][0] if extractors else None,
        "feature_width": int(feature_width or 0),
        "label_set": label_set(labels),
    }


def trained_regions(nlp: Language) -> Optional[Dict[str, Any]]:
    """The record of the first component that has one (with its name as
    "component"), or None for a pipeline trained before records were kept."""
    for name, pipe in nlp.pipeline:
        cfg = getattr(pipe, "cfg", None)
        if isinstance(cfg, dict) and isinstance(cfg.get("regions"), dict):
            return {**cfg["regions"], "component": name}
    return None


def check_regions(docs: Iterable[Doc], record: Optional[Dict[str, Any]], component: str) -> None:
    """Refuse regions that the model trained on `record` cannot use: features
    of another width (E811), features for a label-only model (E812), or labels
    of another set for a label-only model (E814). Regions without features
    are accepted by every model (it uses their labels and boxes)."""
    if not record:
        return
    expected = int(record.get("feature_width") or 0)
    if not expected and record.get("label_set") is None:
        return  # trained without regions: the model's own checks apply
    trained = record.get("extractor") or UNRECORDED
    for doc in docs:
        regions = doc._.image_regions
        if regions is None or not len(regions):
            continue
        width = regions.feature_width or 0
        fields = {"doc": doc_name(doc), "given": regions.extractor or UNRECORDED, "width": width,
                  "component": component, "trained": trained, "expected": expected}
        if expected and width and width != expected:  # label-only regions: labels and geometry only
            raise RegionsError(Errors.E811.format(**fields))
        if not expected and width:
            raise RegionsError(Errors.E812.format(**fields))
        wanted = record.get("label_set")
        if not expected and wanted == "coco" and label_set(regions.labels or []) == "other":
            names = sorted({label for label in regions.labels if label != WHOLE_IMAGE_LABEL})[:5]
            raise RegionsError(Errors.E814.format(labels=names, label_set="COCO", **fields))
