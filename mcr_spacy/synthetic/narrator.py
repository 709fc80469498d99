"""How a scene's narration names its entities: introductions, later mentions
(pronouns, names, synonyms, hypernyms, attributes only the image resolves),
with the mention offsets recorded as the text is written."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

from .categories import ALL_COLOURS, NUMBERS, PRONOUN_FORMS, article, cap, plural
from .scene import Entity, Mention


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


class Narrator:
    """Builds the narration text and records mention offsets."""

    def __init__(self, rng: numpy.random.Generator, entities: Dict[int, Entity]) -> None:
        self.rng = rng
        self.entities = entities
        self.parts: List[str] = []
        self.length = 0
        self.mentions: List[Mention] = []
        self.last_by_pronoun: Dict[str, int] = {}
        self.last_animate: Dict[str, int] = {}

    def say(self, text: str) -> "Narrator":
        self.parts.append(text)
        self.length += len(text)
        return self

    def mention(self, text: str, ent: Entity, *tags: str) -> "Narrator":
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
