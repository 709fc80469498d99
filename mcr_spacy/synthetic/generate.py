"""A synthetic multimodal coreference data set written in the real CIN, MAF and
flk30k_LN file formats, so that the demo runs the same converters as real data.

Each image is a scene of objects. A region's feature vector is the sum of
prototypes (super-category, category, colour, size) plus noise, so category,
colour and size are visible in the features and in the box geometry. Detector
labels use synonyms and are sometimes generic or wrong; distractor regions
(body parts, clutter, unmentioned objects) are added. Narrations follow the
Localized Narratives style ("In this image we can see a man holding a dog. He
is wearing a red shirt. ...") with pronouns by gender and number, synonyms and
hypernyms ("a dog ... the animal ... it"), singletons, mentions without a box,
and cases only the image resolves: two men are introduced, and later "the tall
man" or "the man on the left" names one of them by an attribute the text never
stated for it, so only the boxes and features tell which.

Written files (under OUT_DIR):
- `cin_annotations/testval_annotations.json`, `val_image_ids.json`, `test_image_ids.json`
- `faster_rcnn_image_features/{split}_features_compress.hdf5`, `{split}_imgid2idx.pkl`,
  `{split}_detection_dict.json` for `val`, `test` and `train` (the unlabelled images)
- `flk30k_LN.json`, `flk30k_LN_label.h5`, `flk30k_LN_trace_box/<id>.npy`
- `gold/{split}/<id>.json`: gold chains as scorch JSON, like CIN's `gold.zip`
- `synth_phenomena.json`: for every gold mention, the phenomena it exercises
"""
import io
import json
import os
import pickle
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

import numpy

from ..convert.common import write_bytes_atomic

DEFAULT_FEATURE_WIDTH = 2048
OPENERS = (
    "In this image we can see",
    "In this picture we can see",
    "In this image I can see",
    "In this picture I can see",
    "Here we can see",
    "In this image there is",
    "This picture consists of",
)
COLOURS = ("red", "blue", "green", "yellow", "black", "white")
ANIMAL_COLOURS = ("brown", "black", "white")
ALL_COLOURS = COLOURS + ("brown",)
NUMBERS = {2: "two", 3: "three"}
PRONOUN_FORMS = {
    "he": ("he", "him"),
    "she": ("she", "her"),
    "it": ("it", "it"),
    "they": ("they", "them"),
}
IRREGULAR_PLURALS = {
    "man": "men", "woman": "women", "person": "people", "child": "children",
    "lady": "ladies", "puppy": "puppies", "pony": "ponies", "kitten": "kittens",
    "guy": "guys", "kid": "kids",
}


@dataclass(frozen=True)
class Category:
    """A kind of thing in the synthetic world."""

    name: str
    kind: str  # person, animal, vehicle, held, seat, clothing, stuff, part, clutter
    pronoun: str = "it"
    synonyms: Tuple[str, ...] = ()
    hypernyms: Tuple[str, ...] = ()
    det_labels: Tuple[str, ...] = ()
    generic_label: Optional[str] = None
    intro: Optional[str] = None  # how stuff is introduced ("the sky")

    @property
    def labels(self) -> Tuple[str, ...]:
        return self.det_labels or (self.name,)


CATEGORIES: Tuple[Category, ...] = (
    Category("man", "person", "he", ("guy",), ("person",), ("man", "man", "guy"), "person"),
    Category("woman", "person", "she", ("lady",), ("person",), ("woman", "woman", "lady"), "person"),
    Category("boy", "person", "he", ("kid",), ("child", "person"), ("boy", "boy", "kid"), "child"),
    Category("girl", "person", "she", ("kid",), ("child", "person"), ("girl", "girl", "kid"), "child"),
    Category("dog", "animal", "it", ("puppy",), ("animal",), ("dog", "dog", "puppy"), "animal"),
    Category("cat", "animal", "it", ("kitten",), ("animal",), ("cat", "cat", "kitten"), "animal"),
    Category("horse", "animal", "it", ("pony",), ("animal",), ("horse",), "animal"),
    Category("bicycle", "vehicle", "it", ("bike",), ("vehicle",), ("bicycle", "bike"), "vehicle"),
    Category("car", "vehicle", "it", (), ("vehicle",), ("car",), "vehicle"),
    Category("bag", "held", "it", ("handbag",), ("object",), ("bag",), None),
    Category("ball", "held", "it", (), ("toy",), ("ball",), None),
    Category("umbrella", "held", "it", (), ("object",), ("umbrella",), None),
    Category("bench", "seat", "it", (), ("seat",), ("bench",), None),
    Category("chair", "seat", "it", (), ("seat",), ("chair",), None),
    Category("shirt", "clothing", "it", ("t-shirt",), (), ("shirt", "t-shirt"), "clothes"),
    Category("jacket", "clothing", "it", ("coat",), (), ("jacket", "coat"), "clothes"),
    Category("dress", "clothing", "it", (), (), ("dress",), "clothes"),
    Category("cap", "clothing", "it", ("hat",), (), ("cap", "hat"), None),
    Category("sky", "stuff", intro="the sky", det_labels=("sky",)),
    Category("grass", "stuff", intro="grass", det_labels=("grass",)),
    Category("road", "stuff", intro="a road", det_labels=("road", "street")),
    Category("wall", "stuff", intro="a wall", det_labels=("wall",)),
    Category("trees", "stuff", "they", intro="trees", det_labels=("tree", "trees")),
    Category("building", "stuff", intro="a building", det_labels=("building",)),
    Category("floor", "stuff", intro="the floor", det_labels=("floor",)),
    Category("water", "stuff", intro="water", det_labels=("water",)),
    Category("head", "part", det_labels=("head",)),
    Category("hand", "part", det_labels=("hand",)),
    Category("hair", "part", det_labels=("hair",)),
    Category("leg", "part", det_labels=("leg",)),
    Category("window", "clutter", det_labels=("window",)),
    Category("pole", "clutter", det_labels=("pole",)),
    Category("sign", "clutter", det_labels=("sign",)),
    Category("light", "clutter", det_labels=("light",)),
    Category("cloud", "clutter", det_labels=("cloud",)),
    Category("shadow", "clutter", det_labels=("shadow",)),
    Category("leaf", "clutter", det_labels=("leaf", "leaves")),
)
CATS: Dict[str, Category] = {c.name: c for c in CATEGORIES}
SUPER = ("person", "animal", "vehicle", "held", "seat", "clothing", "stuff", "part", "clutter")


def plural(word: str) -> str:
    """The plural of a noun of the synthetic vocabulary."""
    if word in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[word]
    if word.endswith(("s", "sh", "ch")):
        return word + "es"
    return word + "s"


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


PREDICATES = {
    "person": ("smiling", "standing", "looking at something", "walking"),
    "animal": ("standing", "looking at something", "sitting", "running"),
    "vehicle": ("parked", "moving", "stationary"),
}
OTHER_PREDICATES = ("on the ground", "old", "kept there")


def predicate(cat: Category) -> Tuple[str, ...]:
    """What a thing of this category can be said to be doing."""
    return PREDICATES.get(cat.kind, OTHER_PREDICATES)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def scorch_mention_ids(text: str, offsets: Sequence[Tuple[int, int]]) -> Dict[Tuple[int, int], str]:
    """Scorch ids `<mention text><index>` of mentions given as character offsets,
    the index counting the distinct mentions in text order (`"a man0"`)."""
    return {m: f"{text[m[0]:m[1]]}{i}" for i, m in enumerate(sorted(set(offsets)))}


class World:
    """Feature prototypes shared by every image of one data set."""

    def __init__(self, rng: numpy.random.Generator, width: int) -> None:
        self.width = width

        def proto(density: float, scale: float) -> numpy.ndarray:
            mask = rng.random(width) < density
            return (numpy.abs(rng.normal(size=width)) * mask * scale).astype("float32")

        self.super = {name: proto(0.15, 1.0) for name in SUPER}
        self.category = {c.name: proto(0.15, 1.5) for c in CATEGORIES}
        self.colour = {c: proto(0.08, 1.6) for c in ALL_COLOURS}
        self.size = proto(0.08, 2.0)
        self.left = proto(0.04, 1.0)

    def features(
        self,
        rng: numpy.random.Generator,
        cat: Category,
        colour: Optional[str],
        colour_weight: float,
        rel_height: float,
        rel_x: float,
    ) -> numpy.ndarray:
        vec = 0.6 * self.super[cat.kind] + self.category[cat.name]
        if colour is not None:
            vec = vec + colour_weight * self.colour[colour]
        vec = vec + (rel_height - 0.4) * self.size + (0.5 - rel_x) * self.left
        vec = vec + rng.normal(scale=0.35, size=self.width).astype("float32")
        return numpy.maximum(vec, 0.0).astype("float32")


@dataclass
class Entity:
    """A thing in a scene: one object, or a group of them (plural)."""

    eid: int
    cat: Category
    boxes: List[List[float]]
    colour: Optional[str] = None
    size: Optional[str] = None
    side: Optional[str] = None
    group: bool = False
    stated: Set[str] = field(default_factory=set)
    parts_of: Optional[int] = None  # clothing: the wearer's entity id

    @property
    def pronoun(self) -> str:
        return "they" if self.group else self.cat.pronoun


@dataclass
class Mention:
    start: int
    end: int
    eid: int
    tags: Tuple[str, ...]


@dataclass
class Scene:
    """One synthetic image: its regions, narration and gold annotation."""

    image_id: str
    width: int
    height: int
    entities: Dict[int, Entity]
    text: str
    mentions: List[Mention]
    boxes: numpy.ndarray
    labels: List[str]
    attrs: List[str]
    features: numpy.ndarray

    def chains(self) -> Dict[int, List[Mention]]:
        out: Dict[int, List[Mention]] = {}
        for mention in self.mentions:
            out.setdefault(mention.eid, []).append(mention)
        return out

    def cin_record(self, split: str) -> Dict[str, Any]:
        """The scene as a CIN annotation record (boxes in percent [x, y, w, h])."""
        ordered = sorted(self.mentions, key=lambda m: (m.start, m.end))
        chain_ids: Dict[int, int] = {}
        for mention in ordered:
            chain_ids.setdefault(mention.eid, len(chain_ids))
        record = {
            "image": self.image_id,
            "captions": self.text,
            "split": split,
            "img_width": self.width,
            "img_height": self.height,
            "query": [self.text[m.start : m.end] for m in ordered],
            "query_start_end": [[m.start, m.end] for m in ordered],
            "cluster": [chain_ids[m.eid] for m in ordered],
            "target_bboxes": [self._percent_boxes(m) for m in ordered],
        }
        return record

    def _percent_boxes(self, mention: Mention) -> List[List[float]]:
        if "no_box" in mention.tags:
            return []
        out = []
        for x1, y1, x2, y2 in self.entities[mention.eid].boxes:
            out.append([
                round(100.0 * x1 / self.width, 4),
                round(100.0 * y1 / self.height, 4),
                round(100.0 * (x2 - x1) / self.width, 4),
                round(100.0 * (y2 - y1) / self.height, 4),
            ])
        return out

    def scorch(self) -> Dict[str, Any]:
        """Gold chains as scorch JSON."""
        ids = scorch_mention_ids(self.text, [(m.start, m.end) for m in self.mentions])
        clusters = {}
        for i, (_, mentions) in enumerate(sorted(self.chains().items(), key=lambda kv: min(m.start for m in kv[1]))):
            clusters[str(i)] = [ids[(m.start, m.end)] for m in mentions]
        return {"name": self.image_id, "type": "clusters", "clusters": clusters}


def attributed_phrase(ent: Entity, attribute: str, definite: bool, noun: Optional[str] = None) -> str:
    """'a tall man', 'the man in red', 'a man on the left', 'the black dog'."""
    noun = noun or ent.cat.name
    det = "the" if definite else None
    if attribute in ("left", "right"):
        text = f"{noun} on the {attribute}"
    elif attribute in ALL_COLOURS and ent.cat.kind == "person":
        text = f"{noun} in {attribute}"
    else:
        text = f"{attribute} {noun}"
    return f"{det or article(text)} {text}"


class _Narration:
    """Builds the narration text and records mention offsets."""

    def __init__(self, rng: numpy.random.Generator, entities: Dict[int, Entity]) -> None:
        self.rng = rng
        self.entities = entities
        self.parts: List[str] = []
        self.length = 0
        self.mentions: List[Mention] = []
        self.last_by_pronoun: Dict[str, int] = {}
        self.last_animate: Dict[str, int] = {}

    def say(self, text: str) -> "_Narration":
        self.parts.append(text)
        self.length += len(text)
        return self

    def mention(self, text: str, ent: Entity, *tags: str) -> "_Narration":
        start = self.length
        self.say(text)
        self.mentions.append(Mention(start, self.length, ent.eid, tuple(tags)))
        if ent.cat.kind not in ("stuff",):
            self.last_by_pronoun[ent.pronoun] = ent.eid
        if ent.cat.kind in ("person", "animal"):
            self.last_animate[ent.pronoun] = ent.eid
        return self

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def pick(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def text(self) -> str:
        return "".join(self.parts)

    # --- how entities are named ---------------------------------------------

    def intro(self, ent: Entity, adjective: Optional[str] = None, first: bool = False) -> Tuple[str, Tuple[str, ...]]:
        """The first mention of an entity ("a man", "two girls", "the sky")."""
        if ent.cat.intro is not None:
            text = ent.cat.intro
        elif ent.group:
            text = f"{NUMBERS[len(ent.boxes)]} {plural(ent.cat.name)}"
        else:
            noun = ent.cat.name if adjective is None else f"{adjective} {ent.cat.name}"
            text = f"{article(noun)} {noun}"
        tags = ("intro", "plural") if ent.group else ("intro",)
        return (cap(text) if first else text), tags

    def later(
        self,
        ent: Entity,
        *,
        subject: bool,
        first: bool = False,
        attribute: Optional[str] = None,
        allow_pronoun: bool = True,
        animate: bool = False,
    ) -> Tuple[str, Tuple[str, ...]]:
        """A later mention: a pronoun when the entity is the most recent one of
        its gender and number (or, with `animate`, the most recent animate one:
        the predicate rules out things in between), else a definite NP with its
        name, a synonym or a hypernym, optionally picked out by an attribute
        (image-only cases)."""
        tags: List[str] = []
        if ent.group:
            tags.append("plural")
        nearest = self.last_by_pronoun.get(ent.pronoun) == ent.eid
        animate_only = animate and not nearest and self.last_animate.get(ent.pronoun) == ent.eid
        if attribute is None and allow_pronoun and (nearest or animate_only) and self.chance(0.5 if nearest else 0.7):
            word = PRONOUN_FORMS[ent.pronoun][0 if subject else 1]
            tags.append("pronoun")
            if animate_only:
                tags.append("pronoun_skips_nearest")
            return (cap(word) if first else word), tuple(tags)
        choices = [("name", ent.cat.name)]
        if ent.cat.synonyms:
            choices.append(("synonym", self.pick(ent.cat.synonyms)))
        if ent.cat.hypernyms:
            choices.append(("hypernym", self.pick(ent.cat.hypernyms)))
        weights = numpy.asarray([0.45] + [0.55 / (len(choices) - 1)] * (len(choices) - 1)) if len(choices) > 1 else numpy.ones(1)
        kind, noun = choices[int(self.rng.choice(len(choices), p=weights / weights.sum()))]
        if kind != "name":
            tags.append(kind)
        else:
            tags.append("repeat")
        if ent.group:
            noun = plural(noun)
        if attribute is None:
            text = f"the {noun}"
        else:
            tags.append("image_only")
            text = attributed_phrase(ent, attribute, definite=True, noun=noun)
        return (cap(text) if first else text), tuple(tags)

    def be(self, ent: Entity) -> str:
        return "are" if ent.group else "is"


class SceneGenerator:
    """Makes scenes: layout, detections with features, and a narration."""

    def __init__(self, rng: numpy.random.Generator, world: World) -> None:
        self.rng = rng
        self.world = world

    # --- layout ---------------------------------------------------------------

    def _slots(self, n: int, width: float) -> List[Tuple[float, float]]:
        cuts = numpy.sort(self.rng.uniform(0.0, 1.0, size=n - 1)) if n > 1 else numpy.zeros(0)
        cuts = numpy.clip(cuts, 0.0, 1.0)
        edges = numpy.linspace(0.0, 1.0, n + 1)
        edges[1:-1] = 0.7 * edges[1:-1] + 0.3 * cuts
        return [(float(edges[i] * width), float(edges[i + 1] * width)) for i in range(n)]

    def _place(self, cat: Category, slot: Tuple[float, float], W: float, H: float, size: Optional[str]) -> List[float]:
        rng = self.rng
        if cat.kind == "person":
            rel = {"tall": (0.8, 0.95), "short": (0.42, 0.55)}.get(size, (0.6, 0.72))
            h = H * rng.uniform(*rel)
            w = h * rng.uniform(0.3, 0.42)
        elif cat.kind == "animal":
            rel = {"big": (0.4, 0.5), "small": (0.14, 0.22)}.get(size, (0.26, 0.34))
            h = H * rng.uniform(*rel)
            w = h * rng.uniform(1.1, 1.5)
        elif cat.kind == "vehicle":
            rel = {"big": (0.5, 0.6), "small": (0.22, 0.3)}.get(size, (0.35, 0.45))
            h = H * rng.uniform(*rel)
            w = h * rng.uniform(1.3, 1.8)
        else:  # seats
            rel = {"big": (0.35, 0.42), "small": (0.15, 0.22)}.get(size, (0.24, 0.32))
            h = H * rng.uniform(*rel)
            w = h * rng.uniform(1.2, 2.0)
        w = min(w, 0.92 * (slot[1] - slot[0]))
        cx = (slot[0] + slot[1]) / 2 + rng.uniform(-0.04, 0.04) * (slot[1] - slot[0])
        y2 = H * rng.uniform(0.9, 0.99)
        x1, x2 = max(0.0, cx - w / 2), min(W - 1, cx + w / 2)
        return [x1, max(0.0, y2 - h), x2, y2]

    def _held(self, holder: List[float], W: float, H: float) -> List[float]:
        x1, y1, x2, y2 = holder
        h = (y2 - y1) * self.rng.uniform(0.12, 0.22)
        w = h * self.rng.uniform(0.8, 1.4)
        cx = self.pick([x1, x2]) + self.rng.uniform(-0.1, 0.1) * (x2 - x1)
        cy = y1 + (y2 - y1) * self.rng.uniform(0.45, 0.6)
        return [max(0.0, cx - w / 2), max(0.0, cy - h / 2), min(W - 1, cx + w / 2), min(H - 1, cy + h / 2)]

    def _clothing(self, cat: Category, wearer: List[float]) -> List[float]:
        x1, y1, x2, y2 = wearer
        w, h = x2 - x1, y2 - y1
        if cat.name == "cap":
            return [x1 + 0.25 * w, y1, x2 - 0.25 * w, y1 + 0.1 * h]
        if cat.name == "dress":
            return [x1 + 0.05 * w, y1 + 0.18 * h, x2 - 0.05 * w, y1 + 0.75 * h]
        return [x1 + 0.03 * w, y1 + 0.17 * h, x2 - 0.03 * w, y1 + 0.52 * h]

    def _stuff_box(self, cat: Category, W: float, H: float) -> List[float]:
        r = self.rng.uniform
        if cat.name in ("sky", "cloud"):
            return [0.0, 0.0, W - 1, H * r(0.15, 0.35)]
        if cat.name in ("grass", "road", "floor", "water"):
            return [0.0, H * r(0.6, 0.8), W - 1, H - 1]
        if cat.name in ("wall", "building"):
            return [W * r(0.0, 0.2), 0.0, W * r(0.8, 1.0) - 1, H * r(0.55, 0.75)]
        x1 = W * r(0.0, 0.7)
        return [x1, 0.0, min(W - 1, x1 + W * r(0.2, 0.3)), H * r(0.4, 0.6)]

    def pick(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    # --- scenes ---------------------------------------------------------------

    def scene(self, image_id: str) -> Scene:
        rng = self.rng
        W = int(rng.integers(400, 641))
        H = int(rng.integers(300, 501))
        kind = self.pick(("companion", "companion", "same_pair", "same_pair", "mixed_pair", "group"))
        ents: Dict[int, Entity] = {}

        def new(cat: Category, boxes: List[List[float]], **kw: Any) -> Entity:
            ent = Entity(len(ents), cat, boxes, **kw)
            ents[ent.eid] = ent
            return ent

        narr = _Narration(rng, ents)
        opener = self.pick(OPENERS)
        persons = [c for c in CATEGORIES if c.kind == "person"]
        if kind == "companion":
            self._companion(narr, new, persons, W, H, opener)
        elif kind == "same_pair":
            self._same_pair(narr, new, persons, W, H, opener)
        elif kind == "mixed_pair":
            self._mixed_pair(narr, new, W, H, opener)
        else:
            self._group(narr, new, persons, W, H, opener)
        self._background(narr, new, W, H)
        boxes, labels, attrs, feats = self._detect(ents, W, H)
        return Scene(image_id, W, H, ents, narr.text(), narr.mentions, boxes, labels, attrs, feats)

    def _dress(self, narr: _Narration, new: Any, person: Entity, W: float, H: float) -> Entity:
        """A clothing entity in the person's colour."""
        options = ["shirt", "jacket", "cap"] + (["dress"] if person.cat.pronoun == "she" else [])
        cat = CATS[self.pick(options)]
        return new(cat, [self._clothing(cat, person.boxes[0])], colour=person.colour, parts_of=person.eid)

    def _act(self, narr: _Narration, new: Any, ent: Entity) -> None:
        """What a person or animal is doing; sometimes looking at the camera,
        a mention with no box in the image."""
        if ent.cat.kind in ("person", "animal") and narr.chance(0.2):
            narr.say(f" {narr.be(ent)} looking at ")
            narr.mention("the camera", new(CATS["sign"], []), "singleton", "no_box").say(". ")
        else:
            narr.say(f" {narr.be(ent)} {self.pick(predicate(ent.cat))}. ")

    def _companion(self, narr: _Narration, new: Any, persons: List[Category], W: float, H: float, opener: str) -> None:
        rng = self.rng
        pcat = self.pick(persons)
        animals = ("dog", "cat", "horse")
        others = ("bicycle", "car", "bench", "bag", "ball", "umbrella")
        ocat = CATS[self.pick(animals if narr.chance(0.55) else others)]
        slots = self._slots(2, W)
        order = rng.permutation(2)
        person = new(pcat, [self._place(pcat, slots[order[0]], W, H, None)], colour=self.pick(COLOURS))
        if ocat.kind == "held":
            obox = self._held(person.boxes[0], W, H)
            colour = self.pick(COLOURS)
        else:
            obox = self._place(ocat, slots[order[1]], W, H, None)
            colour = self.pick(ANIMAL_COLOURS if ocat.kind == "animal" else COLOURS)
        obj = new(ocat, [obox], colour=colour)
        verb = {
            "animal": self.pick(("holding", "with", "standing beside", "playing with")),
            "vehicle": self.pick(("standing beside", "near", "with")),
            "seat": self.pick(("sitting on", "standing near")),
            "held": self.pick(("holding", "carrying")),
        }[ocat.kind]
        if ocat.name == "horse" or (ocat.name == "bicycle" and self.rng.random() < 0.5):
            verb = "riding"
        text, tags = narr.intro(person)
        narr.say(f"{opener} ").mention(text, person, *tags).say(f" {verb} ")
        text, tags = narr.intro(obj)
        narr.mention(text, obj, *tags).say(". ")
        clothes = self._dress(narr, new, person, W, H)
        text, tags = narr.later(person, subject=True, first=True)
        narr.mention(text, person, *tags).say(" is wearing ")
        narr.mention(f"{article(clothes.colour)} {clothes.colour} {clothes.cat.name}", clothes, "intro", "singleton")
        narr.say(". ")
        person.stated.add("colour")
        branch = "colour" if (ocat.kind != "animal" or narr.chance(0.4)) and narr.chance(0.5) else "act"
        # an animal doing something animate may be "it" although "a red shirt"
        # came in between: the nearest "it" is not the referent
        text, tags = narr.later(obj, subject=True, first=True, animate=branch == "act" and ocat.kind == "animal")
        narr.mention(text, obj, *tags)
        if branch == "colour":
            narr.say(f" {narr.be(obj)} {obj.colour} in colour. ")
            obj.stated.add("colour")
        elif ocat.kind == "animal" and narr.chance(0.5):
            narr.say(" is looking at ")
            text, tags = narr.later(person, subject=False)
            narr.mention(text, person, *tags).say(". ")
        elif ocat.kind == "animal":
            narr.say(" is looking at ")
            narr.mention("the camera", new(CATS["sign"], []), "singleton", "no_box").say(". ")
        else:
            narr.say(f" is {self.pick(predicate(ocat))}. ")
        if narr.chance(0.6):
            text, tags = narr.later(person, subject=True, first=True)
            narr.mention(text, person, *tags)
            self._act(narr, new, person)

    def _same_pair(self, narr: _Narration, new: Any, persons: List[Category], W: float, H: float, opener: str) -> None:
        """Two things of one category, told apart later by an attribute the text
        did not give at their introduction: only the image resolves it."""
        rng = self.rng
        cat = self.pick(persons + [CATS["dog"], CATS["dog"], CATS["car"]])
        palette = ANIMAL_COLOURS if cat.kind == "animal" else COLOURS
        colours = rng.choice(len(palette), size=2, replace=False)
        sizes = ("tall", "short") if cat.kind == "person" else ("big", "small")
        size_order = rng.permutation(2)
        slots = self._slots(2, W)
        side_order = rng.permutation(2)  # which entity stands left
        pair = []
        for i in range(2):
            size = sizes[size_order[i]]
            box = self._place(cat, slots[side_order[i]], W, H, size)
            pair.append(new(cat, [box], colour=palette[colours[i]], size=size, side=("left", "right")[side_order[i]]))
        intro_attr = self.pick(("colour", "size", "side"))
        later_attrs = [a for a in ("size", "side", "colour") if a != intro_attr]
        if narr.chance(0.3):
            # "two men": a plural mention of both, then each one by an attribute
            group = new(cat, [p.boxes[0] for p in pair], group=True)
            text, tags = narr.intro(group)
            narr.say(f"{opener} ").mention(text, group, *tags, "singleton").say(". ")
        else:
            # "a man in red and a man in blue", "a tall man and a short man",
            # "a man on the left and a man on the right": the antecedents are told
            # apart by one attribute, the later mention by another
            narr.say(f"{opener} ")
            for i, ent in enumerate(pair):
                if i:
                    narr.say(" and ")
                attribute = {"size": ent.size, "side": ent.side, "colour": ent.colour}[intro_attr]
                narr.mention(attributed_phrase(ent, attribute, definite=False), ent, "intro")
                ent.stated.add(intro_attr)
            narr.say(". ")
        n_later = 1 + int(narr.chance(0.6))
        for _ in range(n_later):
            ent = pair[int(rng.integers(2))]
            attr_type = self.pick(later_attrs)
            attribute = {"size": ent.size, "side": ent.side, "colour": ent.colour}[attr_type]
            text, tags = narr.later(ent, subject=True, first=True, attribute=attribute)
            narr.mention(text, ent, *tags)
            if cat.kind == "person" and narr.chance(0.5):
                held = CATS[self.pick(("bag", "umbrella", "ball"))]
                obj = new(held, [self._held(ent.boxes[0], W, H)], colour=self.pick(COLOURS))
                narr.say(" is holding ").mention(f"{article(held.name)} {held.name}", obj, "intro", "singleton").say(". ")
            else:
                self._act(narr, new, ent)
            if narr.chance(0.6):
                text, tags = narr.later(ent, subject=True, first=True)
                narr.mention(text, ent, *tags)
                self._act(narr, new, ent)

    def _mixed_pair(self, narr: _Narration, new: Any, W: float, H: float, opener: str) -> None:
        """A man and a woman (or a boy and a girl): pronouns by gender, then one
        of them as "the person in red" / "the person on the left"."""
        rng = self.rng
        a, b = self.pick((("man", "woman"), ("boy", "girl"), ("woman", "man"), ("girl", "boy"), ("man", "girl"), ("woman", "boy")))
        slots = self._slots(2, W)
        side_order = rng.permutation(2)
        colours = rng.choice(len(COLOURS), size=2, replace=False)
        size_order = rng.permutation(2)
        pair = []
        for i, name in enumerate((a, b)):
            size = ("tall", "short")[size_order[i]]
            cat = CATS[name]
            pair.append(new(cat, [self._place(cat, slots[side_order[i]], W, H, size)], colour=COLOURS[colours[i]], size=size, side=("left", "right")[side_order[i]]))
        narr.say(f"{opener} ")
        text, tags = narr.intro(pair[0])
        narr.mention(text, pair[0], *tags).say(" and ")
        text, tags = narr.intro(pair[1])
        narr.mention(text, pair[1], *tags).say(". ")
        for ent in rng.permutation(2):
            ent = pair[int(ent)]
            word = PRONOUN_FORMS[ent.pronoun][0]
            narr.mention(cap(word), ent, "pronoun")
            if narr.chance(0.5):
                held = CATS[self.pick(("bag", "umbrella", "ball"))]
                obj = new(held, [self._held(ent.boxes[0], W, H)], colour=self.pick(COLOURS))
                narr.say(" is holding ").mention(f"{article(held.name)} {held.name}", obj, "intro", "singleton").say(". ")
            else:
                narr.say(f" is {self.pick(('smiling', 'standing', 'looking at something'))}. ")
        if pair[0].pronoun != pair[1].pronoun and narr.chance(0.6):
            # "He is looking at her": both pronouns resolved by gender
            subj, obj = (pair[0], pair[1]) if narr.chance(0.5) else (pair[1], pair[0])
            narr.mention(cap(PRONOUN_FORMS[subj.pronoun][0]), subj, "pronoun").say(" is looking at ")
            narr.mention(PRONOUN_FORMS[obj.pronoun][1], obj, "pronoun").say(". ")
        ent = pair[int(rng.integers(2))]
        attr_type = self.pick(("side", "colour", "size"))
        attribute = {"size": ent.size, "side": ent.side, "colour": ent.colour}[attr_type]
        # "the person in red": the hypernym shared by both, so only the image says who
        hyper = "person" if ent.cat.name in ("man", "woman") or narr.chance(0.5) else "child"
        if attr_type == "side":
            text = f"the {hyper} on the {attribute}"
        elif attr_type == "colour":
            text = f"the {hyper} in {attribute}"
        else:
            text = f"the {attribute}er {hyper}" if attribute == "tall" else f"the shorter {hyper}"
        narr.mention(cap(text), ent, "hypernym", "image_only").say(
            f" is {self.pick(('smiling', 'looking at the other one', 'standing'))}. "
        )

    def _group(self, narr: _Narration, new: Any, persons: List[Category], W: float, H: float, opener: str) -> None:
        rng = self.rng
        cat = self.pick(persons + [CATS["dog"]])
        n = int(rng.integers(2, 4))
        slots = self._slots(n + 1, W)
        members = [self._place(cat, slots[i], W, H, None) for i in range(n)]
        group = new(cat, members, group=True)
        seat = CATS[self.pick(("bench", "car", "bicycle", "chair"))]
        sbox = self._place(seat, slots[n], W, H, None)
        thing = new(seat, [sbox], colour=self.pick(COLOURS))
        text, tags = narr.intro(group)
        narr.say(f"{opener} ").mention(text, group, *tags)
        narr.say(f" {self.pick(('near', 'beside', 'in front of'))} ")
        text, tags = narr.intro(thing)
        narr.mention(text, thing, *tags).say(". ")
        text, tags = narr.later(group, subject=True, first=True)
        narr.mention(text, group, *tags).say(f" are {self.pick(predicate(cat))}. ")
        text, tags = narr.later(thing, subject=True, first=True)
        narr.mention(text, thing, *tags).say(f" is {thing.colour} in colour. ")
        if narr.chance(0.5):
            text, tags = narr.later(group, subject=True, first=True)
            narr.mention(text, group, *tags).say(" are looking at ")
            text, tags = narr.later(thing, subject=False)
            narr.mention(text, thing, *tags).say(". ")
        else:
            text, tags = narr.later(thing, subject=True, first=True)
            narr.mention(text, thing, *tags).say(" is behind ")
            text, tags = narr.later(group, subject=False)
            narr.mention(text, group, *tags).say(". ")

    def _background(self, narr: _Narration, new: Any, W: float, H: float) -> None:
        names = ["sky", "grass", "road", "wall", "trees", "building", "floor", "water"]
        k = int(self.rng.integers(1, 4))
        chosen = [CATS[names[i]] for i in self.rng.choice(len(names), size=k, replace=False)]
        stuff = [new(cat, [self._stuff_box(cat, W, H)]) for cat in chosen]
        narr.say(self.pick(("In the background we can see ", "In the background there is ", "At the back we can see ")))
        for i, ent in enumerate(stuff):
            if i:
                narr.say(" and " if i == len(stuff) - 1 else ", ")
            text, tags = narr.intro(ent)
            narr.mention(text, ent, *tags, "singleton")
        narr.say(".")
        if stuff[0].cat.name == "sky" and narr.chance(0.5):
            narr.say(" ").mention("The sky", stuff[0], "repeat").say(" is clear.")

    # --- detections -----------------------------------------------------------

    def _label(self, cat: Category) -> str:
        r = self.rng.random()
        if r < 0.72 or cat.kind in ("part", "clutter", "stuff"):
            return self.pick(cat.labels)
        if r < 0.86 and cat.generic_label:
            return cat.generic_label
        confusable = [c for c in CATEGORIES if c.kind == cat.kind and c.name != cat.name]
        return self.pick(confusable).labels[0] if confusable else self.pick(cat.labels)

    def _jitter(self, box: List[float], W: float, H: float, amount: float) -> List[float]:
        x1, y1, x2, y2 = box
        w, h = max(x2 - x1, 2.0), max(y2 - y1, 2.0)
        d = self.rng.uniform(-amount, amount, size=4) * numpy.asarray([w, h, w, h])
        nx1, ny1 = numpy.clip(x1 + d[0], 0, W - 2), numpy.clip(y1 + d[1], 0, H - 2)
        nx2, ny2 = numpy.clip(x2 + d[2], nx1 + 1, W - 1), numpy.clip(y2 + d[3], ny1 + 1, H - 1)
        return [round(float(v), 2) for v in (nx1, ny1, nx2, ny2)]

    def _detect(self, ents: Dict[int, Entity], W: float, H: float) -> Tuple[numpy.ndarray, List[str], List[str], numpy.ndarray]:
        rng, world = self.rng, self.world
        dets: List[Tuple[List[float], Category, Optional[str], float, str]] = []
        for ent in ents.values():
            colour_weight = 1.0 if ent.cat.kind == "clothing" else 0.7
            for box in ent.boxes:
                if rng.random() < (0.9 if ent.cat.kind == "stuff" else 0.97):
                    dets.append((self._jitter(box, W, H, 0.06), ent.cat, ent.colour, colour_weight, self._label(ent.cat)))
                if ent.cat.kind == "person" and not ent.group and rng.random() < 0.6:
                    x1, y1, x2, y2 = box
                    head = [x1 + 0.3 * (x2 - x1), y1, x2 - 0.3 * (x2 - x1), y1 + 0.15 * (y2 - y1)]
                    part = CATS[self.pick(("head", "hair", "hand", "leg"))]
                    dets.append((self._jitter(head, W, H, 0.1), part, None, 0.0, self._label(part)))
                if ent.cat.kind in ("person", "animal") and rng.random() < 0.15:
                    # a second, loose detection of the same object
                    dets.append((self._jitter(box, W, H, 0.3), ent.cat, ent.colour, 0.3, self._label(ent.cat)))
        for _ in range(int(rng.integers(2, 6))):
            cat = CATS[self.pick(("window", "pole", "sign", "light", "cloud", "shadow", "leaf"))]
            w, h = W * rng.uniform(0.04, 0.2), H * rng.uniform(0.04, 0.2)
            x1, y1 = rng.uniform(0, W - w - 1), rng.uniform(0, H - h - 1)
            dets.append(([round(float(v), 2) for v in (x1, y1, x1 + w, y1 + h)], cat, None, 0.0, self._label(cat)))
        if rng.random() < 0.35:
            # an unmentioned person or car far in the background
            cat = CATS[self.pick(("man", "woman", "car"))]
            h = H * rng.uniform(0.1, 0.2)
            w = h * (0.4 if cat.kind == "person" else 1.5)
            x1, y1 = rng.uniform(0, W - w - 1), H * rng.uniform(0.3, 0.5)
            dets.append(([round(float(v), 2) for v in (x1, y1, x1 + w, y1 + h)], cat, self.pick(COLOURS), 0.7, self._label(cat)))
        order = rng.permutation(len(dets))
        dets = [dets[i] for i in order]
        boxes = numpy.asarray([d[0] for d in dets], dtype="float32").reshape((-1, 4))
        feats = numpy.zeros((len(dets), world.width), dtype="float32")
        attrs = []
        for i, (box, cat, colour, weight, _) in enumerate(dets):
            rel_h = (box[3] - box[1]) / H
            rel_x = (box[0] + box[2]) / (2 * W)
            feats[i] = world.features(rng, cat, colour, weight, rel_h, rel_x)
            attrs.append(colour if colour is not None and rng.random() < 0.7 else "")
        return boxes, [d[4] for d in dets], attrs, feats


# --- writing the data set ------------------------------------------------------

LN_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")


def ln_words(text: str) -> List[Tuple[str, int, int]]:
    """Narration words as the flk30k_LN preprocessing keeps them: lower case,
    punctuation dropped; with their character offsets in `text`."""
    return [(m.group(0), m.start(), m.end()) for m in LN_WORD.finditer(text.lower())]


def _trace_boxes(rng: numpy.random.Generator, scene: Scene, words: List[Tuple[str, int, int]]) -> numpy.ndarray:
    """One normalised `[x1, y1, x2, y2, area]` box per word: the box of the
    thing being named while the word is spoken, else a drifting pointer."""
    out = numpy.zeros((len(words), 5), dtype="float32")
    W, H = float(scene.width), float(scene.height)
    current = numpy.asarray([0.4, 0.4, 0.6, 0.6], dtype="float32")
    for i, (_, start, end) in enumerate(words):
        target = None
        for mention in scene.mentions:
            if mention.start <= start and end <= mention.end:
                boxes = scene.entities[mention.eid].boxes
                if boxes:
                    b = numpy.asarray(boxes, dtype="float32")
                    target = numpy.asarray([b[:, 0].min() / W, b[:, 1].min() / H, b[:, 2].max() / W, b[:, 3].max() / H])
                break
        if target is not None:
            current = target + rng.normal(scale=0.02, size=4)
        else:
            current = current + rng.normal(scale=0.03, size=4)
        box = numpy.clip(current, 0.0, 1.0)
        x1, x2 = sorted((float(box[0]), float(box[2])))
        y1, y2 = sorted((float(box[1]), float(box[3])))
        out[i] = [x1, y1, x2, y2, (x2 - x1) * (y2 - y1)]
    return out


def _write_h5_atomic(path: Path, fill: Any) -> None:
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    os.close(fd)
    try:
        with h5py.File(tmp, "w", track_order=False) as file_:
            fill(file_)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf8")


def write_features(out_dir: Path, split: str, scenes: Sequence[Scene], width: int) -> None:
    """Write one split's region files in the MAF format."""
    total = sum(len(s.boxes) for s in scenes)
    pos = numpy.zeros((len(scenes), 2), dtype="int64")
    feats = numpy.zeros((total, width), dtype="float32")
    boxes = numpy.zeros((total, 4), dtype="float32")
    row = 0
    for i, scene in enumerate(scenes):
        n = len(scene.boxes)
        pos[i] = (row, row + n)
        feats[row : row + n] = scene.features
        boxes[row : row + n] = scene.boxes
        row += n

    def fill(file_: Any) -> None:
        chunk = (max(1, min(64, total)), width)
        file_.create_dataset("features", data=feats, chunks=chunk if total else None, compression="gzip" if total else None, compression_opts=1 if total else None, shuffle=bool(total), track_times=False)
        file_.create_dataset("pos_bboxes", data=pos, track_times=False)
        file_.create_dataset("bboxes", data=boxes, track_times=False)

    _write_h5_atomic(out_dir / f"{split}_features_compress.hdf5", fill)
    imgid2idx = {int(s.image_id): i for i, s in enumerate(scenes)}
    write_bytes_atomic(pickle.dumps(imgid2idx, protocol=4), out_dir / f"{split}_imgid2idx.pkl")
    detections = {
        s.image_id: {"bboxes": s.boxes.round(2).tolist(), "classes": list(s.labels), "attrs": list(s.attrs)}
        for s in scenes
    }
    write_bytes_atomic(_json_bytes(detections), out_dir / f"{split}_detection_dict.json")


def write_ln(out_dir: Path, scenes: Sequence[Scene], rng: numpy.random.Generator, split: str = "train") -> None:
    """Write unlabelled narrations as `flk30k_LN.json` + `flk30k_LN_label.h5`,
    and per-word trace boxes as `flk30k_LN_trace_box/<id>.npy`."""
    vocab: Dict[str, int] = {}
    sequences = []
    for scene in scenes:
        words = ln_words(scene.text)
        sequences.append([vocab.setdefault(w, len(vocab) + 1) for w, _, _ in words])
        trace = _trace_boxes(rng, scene, words)
        path = out_dir / "flk30k_LN_trace_box" / f"{scene.image_id}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        numpy.save(buf, trace)
        write_bytes_atomic(buf.getvalue(), path)
    max_len = max([len(s) for s in sequences] + [1])
    labels = numpy.zeros((len(sequences), max_len), dtype="uint32")
    for i, seq in enumerate(sequences):
        labels[i, : len(seq)] = seq
    n = len(scenes)
    start_ix = numpy.arange(1, n + 1, dtype="int64")

    def fill(file_: Any) -> None:
        file_.create_dataset("labels", data=labels, track_times=False)
        file_.create_dataset("label_start_ix", data=start_ix, track_times=False)
        file_.create_dataset("label_end_ix", data=start_ix.copy(), track_times=False)
        file_.create_dataset("label_length", data=numpy.asarray([len(s) for s in sequences], dtype="int64"), track_times=False)

    _write_h5_atomic(out_dir / "flk30k_LN_label.h5", fill)
    info = {
        "ix_to_word": {str(i): w for w, i in vocab.items()},
        "images": [
            {"id": int(s.image_id), "split": split, "file_path": f"{s.image_id}.jpg", "width": s.width, "height": s.height}
            for s in scenes
        ],
    }
    write_bytes_atomic(_json_bytes(info), out_dir / "flk30k_LN.json")


def generate_scenes(
    n: int, rng: numpy.random.Generator, world: World, used_ids: Set[str],
    held_out: Sequence[str] = (),
) -> List[Scene]:
    """`n` scenes; scenes with an object of a `held_out` category are drawn again."""
    gen = SceneGenerator(rng, world)
    scenes: List[Scene] = []
    max_draws = 20 * n + 100
    for _ in range(max_draws):
        if len(scenes) == n:
            break
        while True:
            image_id = str(int(rng.integers(10**9, 10**10 - 1)))
            if image_id not in used_ids:
                used_ids.add(image_id)
                break
        scene = gen.scene(image_id)
        if not any(ent.cat.name in held_out for ent in scene.entities.values()):
            scenes.append(scene)
    if len(scenes) < n:
        raise ValueError(
            f"Only {len(scenes)} of {n} scenes in {max_draws} draws avoid the held-out "
            f"categories {sorted(held_out)}: hold out fewer or rarer categories."
        )
    return scenes


def generate(
    out_dir: Union[str, Path],
    *,
    n_labeled: int = 200,
    n_unlabeled: int = 400,
    n_test: int = 100,
    seed: int = 0,
    feature_width: int = DEFAULT_FEATURE_WIDTH,
    held_out: Sequence[str] = (),
) -> Dict[str, Any]:
    """Write the synthetic data set to `out_dir`; returns a summary of counts.
    The labelled images are CIN's `val` split, the test images its `test`
    split, and the unlabelled images the `train` split of the features.
    Categories named in `held_out` never appear in the labelled images, only
    in the unlabelled and test ones (as a small labelled set covers only
    part of the vocabulary of a large unlabelled one)."""
    for name, value in (("n_labeled", n_labeled), ("n_unlabeled", n_unlabeled), ("n_test", n_test)):
        if value < 0:
            raise ValueError(f"{name} must be 0 or more, got {value}.")
    if feature_width < 1:
        raise ValueError(f"feature_width must be positive, got {feature_width}.")
    unknown = sorted(set(held_out) - set(CATS))
    if unknown:
        raise ValueError(f"Unknown held-out categories {unknown}; choose from {sorted(CATS)}.")
    out_dir = Path(out_dir)
    rng = numpy.random.default_rng(seed)
    world = World(rng, int(feature_width))
    used: Set[str] = set()
    splits = {
        "val": generate_scenes(n_labeled, rng, world, used, held_out),
        "test": generate_scenes(n_test, rng, world, used),
        "train": generate_scenes(n_unlabeled, rng, world, used),
    }
    feat_dir = out_dir / "faster_rcnn_image_features"
    for split, scenes in splits.items():
        write_features(feat_dir, split, scenes, int(feature_width))
    cin_dir = out_dir / "cin_annotations"
    records = [s.cin_record(split) for split in ("val", "test") for s in splits[split]]
    write_bytes_atomic(_json_bytes(records), cin_dir / "testval_annotations.json")
    for split in ("val", "test"):
        write_bytes_atomic(_json_bytes([s.image_id for s in splits[split]]), cin_dir / f"{split}_image_ids.json")
        for scene in splits[split]:
            write_bytes_atomic(_json_bytes(scene.scorch()), out_dir / "gold" / split / f"{scene.image_id}.json")
    write_ln(out_dir, splits["train"], rng)
    phenomena: Dict[str, Any] = {}
    counts: Dict[str, int] = {}
    for split in ("val", "test"):
        for scene in splits[split]:
            chains = scene.chains()
            items = []
            for m in sorted(scene.mentions, key=lambda m: (m.start, m.end)):
                tags = set(m.tags)
                if scene.entities[m.eid].cat.name in held_out:
                    tags.add("held_out_category")
                if len(chains[m.eid]) == 1:
                    tags.add("singleton")
                else:
                    tags.discard("singleton")
                for tag in tags:
                    counts[tag] = counts.get(tag, 0) + 1
                items.append({"start": m.start, "end": m.end, "text": scene.text[m.start : m.end], "chain": m.eid, "tags": sorted(tags)})
            phenomena[scene.image_id] = {"split": split, "mentions": items}
    write_bytes_atomic(_json_bytes(phenomena), out_dir / "synth_phenomena.json")
    summary = {
        "images": {split: len(scenes) for split, scenes in splits.items()},
        "regions": {split: int(sum(len(s.boxes) for s in scenes)) for split, scenes in splits.items()},
        "mentions": {split: sum(len(s.mentions) for s in splits[split]) for split in ("val", "test")},
        "chains": {split: sum(len(s.chains()) for s in splits[split]) for split in ("val", "test")},
        "phenomena": dict(sorted(counts.items())),
        "feature_width": int(feature_width),
        "seed": int(seed),
        "held_out": sorted(held_out),
    }
    return summary
