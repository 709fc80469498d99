"""Which detector labels name what a noun phrase names: "a man" and "the
girls" name a "person" region, "the bike" a "bicycle", "the table" a
"dining table". With label-only regions (VisPro's COCO detections) this is
what ties a dialog's entities to its image, and what trains grounding
where there are no gold boxes."""
from typing import Dict, List, Sequence, Tuple

import numpy
from spacy.tokens import Doc, Span

from .mention_attributes import head_word, pronoun_class, semantic_features, words

LABEL_NAMES: Dict[str, Tuple[str, ...]] = {
    "bicycle": ("bicycle", "bike", "cycle"),
    "motorcycle": ("motorcycle", "motorbike", "scooter"),
    "airplane": ("airplane", "plane", "jet", "aircraft", "aeroplane", "airliner"),
    "boat": ("boat", "ship", "sailboat", "canoe", "kayak"),
    "traffic light": ("traffic light", "stoplight"),
    "fire hydrant": ("hydrant",),
    "stop sign": ("stop sign",),
    "parking meter": ("meter",),
    "cat": ("cat", "kitten", "kitty"),
    "dog": ("dog", "puppy", "pup"),
    "horse": ("horse", "pony"),
    "sheep": ("sheep", "lamb"),
    "cow": ("cow", "cattle", "bull", "calf"),
    "handbag": ("handbag", "purse"),
    "suitcase": ("suitcase", "luggage"),
    "skis": ("ski",),
    "sports ball": ("ball",),
    "baseball bat": ("bat",),
    "baseball glove": ("glove", "mitt"),
    "tennis racket": ("racket", "racquet"),
    "wine glass": ("wine glass",),
    "cup": ("cup", "mug"),
    "hot dog": ("hot dog", "hotdog"),
    "donut": ("donut", "doughnut"),
    "couch": ("couch", "sofa"),
    "potted plant": ("plant",),
    "dining table": ("table",),
    "tv": ("tv", "television"),
    "remote": ("remote", "controller"),
    "cell phone": ("phone", "cellphone"),
    "refrigerator": ("refrigerator", "fridge"),
    "teddy bear": ("teddy bear", "teddy"),
    "hair drier": ("hair drier", "hair dryer", "dryer"),
}
"""The words (or phrases) that name a COCO class whose label is not the
usual word for it; any other label names itself."""

PERSON_LABEL = "person"
_PHRASES = [(label, name) for label, names in LABEL_NAMES.items() for name in names if " " in name]


def singular(word: str) -> str:
    """The word without a regular plural ending ("bikes" -> "bike",
    "ponies" -> "pony"); other words unchanged."""
    if len(word) <= 3 or word.endswith(("ss", "us")):
        return word
    for suffix, repl in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("s", "")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def names_label(span: Span, label: str) -> bool:
    """Whether the noun phrase `span` names what a detector `label` names:
    it ends in a name of the label that has several words ("a hot dog"),
    or its head word (or that word's singular) is a one-word name of it
    ("the bikes") and not the end of another label's name ("a hot dog" is no
    "dog"), or it names a person (by its words' semantic class) and the label
    is "person". Pronouns name nothing."""
    if pronoun_class(span) is not None:
        return False
    label = label.lower().replace("_", " ").strip()
    if not label:
        return False
    if label == PERSON_LABEL and semantic_features(span)[0] != "neuter":
        return True
    text = " ".join(words(span))
    phrase_label = next((other for other, name in _PHRASES if _ends_in(text, name)), None)
    if phrase_label is not None:
        return phrase_label == label
    head = head_word(span)
    return any(name in (head, singular(head)) for name in LABEL_NAMES.get(label, (label,)) if " " not in name)


def _ends_in(text: str, name: str) -> bool:
    """Whether the words `text` end in `name`, singular or plural."""
    return any(f" {text}".endswith(f" {form}") for form in (name, name + "s"))


def named_regions(span: Span, labels: Sequence[str]) -> List[int]:
    """The indices of the `labels` (one per region) that `span` names."""
    return [i for i, label in enumerate(labels) if label and names_label(span, label)]


def label_matrix(doc: Doc, mentions: Sequence[Sequence[int]], labels: Sequence[str]) -> numpy.ndarray:
    """`[M, R]` float32: 1 where mention m (token offsets `(start, end)`)
    names the label of region r, else 0."""
    found = numpy.zeros((len(mentions), len(labels)), dtype="float32")
    for m, (start, end) in enumerate(mentions):
        found[m, named_regions(doc[int(start):int(end)], labels)] = 1.0
    return found
