"""The vocabulary of the synthetic world: categories of things with their
synonyms, hypernyms, pronouns and detector labels, colours, openers and
predicates, and the small word helpers the narrations use."""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

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

