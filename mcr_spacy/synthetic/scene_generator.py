"""Scenes: the layout of an image's objects, its narration, and the detector's
regions (jittered, relabelled, with distractors) with their features."""
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy

from ..errors import ConfigError, Errors
from .categories import ANIMAL_COLOURS, CATEGORIES, CATS, COLOURS, OPENERS, PRONOUN_FORMS, Category, article, cap, predicate
from .narrator import Narrator, attributed_phrase
from .scene import Entity, Scene
from .world import World


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

        narr = Narrator(rng, ents)
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

    def _dress(self, narr: Narrator, new: Any, person: Entity, W: float, H: float) -> Entity:
        """A clothing entity in the person's colour."""
        options = ["shirt", "jacket", "cap"] + (["dress"] if person.cat.pronoun == "she" else [])
        cat = CATS[self.pick(options)]
        return new(cat, [self._clothing(cat, person.boxes[0])], colour=person.colour, parts_of=person.eid)

    def _act(self, narr: Narrator, new: Any, ent: Entity) -> None:
        """What a person or animal is doing; sometimes looking at the camera,
        a mention with no box in the image."""
        if ent.cat.kind in ("person", "animal") and narr.chance(0.2):
            narr.say(f" {narr.be(ent)} looking at ")
            narr.mention("the camera", new(CATS["sign"], []), "singleton", "no_box").say(". ")
        else:
            narr.say(f" {narr.be(ent)} {self.pick(predicate(ent.cat))}. ")

    def _companion(self, narr: Narrator, new: Any, persons: List[Category], W: float, H: float, opener: str) -> None:
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

    def _same_pair(self, narr: Narrator, new: Any, persons: List[Category], W: float, H: float, opener: str) -> None:
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

    def _mixed_pair(self, narr: Narrator, new: Any, W: float, H: float, opener: str) -> None:
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

    def _group(self, narr: Narrator, new: Any, persons: List[Category], W: float, H: float, opener: str) -> None:
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

    def _background(self, narr: Narrator, new: Any, W: float, H: float) -> None:
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
        raise ConfigError(Errors.E603.format(found=len(scenes), n=n, draws=max_draws, held_out=sorted(held_out)))
    return scenes

