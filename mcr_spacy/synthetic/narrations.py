"""Generated image narrations of realistic size with gold clusters, gold boxes
and detector regions: the benchmark's documents, and a corpus for tests.

Unlike the synthetic data set (`generate`), they are not written to files and
nothing in them is meant to be learnt: they have the size and shape of real
narrations (words, mentions, regions, 2048-d features)."""
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy

from ..annotation.regions import ImageRegions
from ..errors import ConfigError, Errors
from .world import DEFAULT_FEATURE_WIDTH

# noun, other ways to refer to it, pronoun
NOUNS = (
    ("man", ("person", "guy"), "he"),
    ("woman", ("lady", "person"), "she"),
    ("boy", ("kid", "child"), "he"),
    ("girl", ("kid", "child"), "she"),
    ("dog", ("animal", "puppy"), "it"),
    ("horse", ("animal",), "it"),
    ("car", ("vehicle",), "it"),
    ("bicycle", ("bike",), "it"),
    ("tree", ("plant",), "it"),
    ("ball", ("toy",), "it"),
    ("bench", ("seat",), "it"),
    ("building", ("house",), "it"),
    ("umbrella", ("object",), "it"),
    ("shirt", ("cloth",), "it"),
    ("people", ("group", "crowd"), "they"),
)
ADJECTIVES = (
    "red", "blue", "green", "black", "white", "small", "tall", "young", "old",
    "wooden", "big", "yellow", "brown", "striped",
)
RELATIONS = (
    "is holding", "is looking at", "is standing near", "is walking towards",
    "is sitting beside", "is playing with", "is next to", "is in front of",
)
# Templates with {0}, {1} mention slots; filler sentences have none.
MENTION_TEMPLATES = (
    "{0} {rel} {1}.",
    "In this picture we can see {0}.",
    "{0} is {adj}.",
    "Beside {0} there is {1}.",
    "On the right side {0} {rel} {1}.",
    "I think {0} {rel} {1} and {2}.",
)
FILLERS = (
    "The picture is taken during the day.",
    "Everything looks calm and bright.",
    "At the top we can see the sky with some clouds.",
    "I think this is an outdoor scene.",
    "The background is a little bit blurry.",
    "There are some more things in the back which are not clear.",
)


@dataclass
class Narration:
    """A generated image narration with gold clusters, gold boxes and regions.

    clusters: mentions as `(start_char, end_char)`, grouped by entity.
    boxes: gold box(es) in pixels per mention.
    """

    text: str
    clusters: List[List[Tuple[int, int]]]
    boxes: Dict[Tuple[int, int], List[List[float]]]
    regions: ImageRegions
    n_words: int = 0
    n_mentions: int = 0


_PROTOTYPES: Dict[int, numpy.ndarray] = {}


def _prototypes(width: int) -> numpy.ndarray:
    if width not in _PROTOTYPES:
        rng = numpy.random.default_rng(12345)
        _PROTOTYPES[width] = rng.normal(0.0, 1.0, (len(NOUNS), width)).astype("float32")
    return _PROTOTYPES[width]


def _random_box(rng: numpy.random.Generator, width: float, height: float) -> List[float]:
    w = rng.uniform(0.05, 0.6) * width
    h = rng.uniform(0.05, 0.6) * height
    x1 = rng.uniform(0, width - w)
    y1 = rng.uniform(0, height - h)
    return [float(x1), float(y1), float(x1 + w), float(y1 + h)]


def generate_narration(
    seed: int,
    *,
    n_words: Optional[int] = None,
    n_regions: Optional[int] = None,
    feature_width: int = DEFAULT_FEATURE_WIDTH,
    words_range: Tuple[int, int] = (100, 250),
    mentions_range: Tuple[int, int] = (15, 40),
    regions_range: Tuple[int, int] = (36, 100),
) -> Narration:
    """Generate one narration deterministically from `seed`.

    By default it has 100–250 words, 15–40 mentions (a mention for every 6.5
    words on average, more in long narrations) and 36–100 regions with
    `feature_width`-d features, labels and scores. Entities are mentioned first
    with an indefinite noun phrase, then by noun, synonym or pronoun; each
    entity has a region and every mention a gold box near it.
    """
    rng = numpy.random.default_rng(seed)
    if n_words is None:
        # The last sentence may add a few words: aim a little below the maximum.
        n_words = int(rng.integers(words_range[0], words_range[1] - 11))
    if n_words < 1:
        raise ConfigError(Errors.E604.format(value=n_words))
    target_mentions = int(numpy.clip(round(n_words / rng.uniform(5.0, 8.0)), *mentions_range))
    if n_words > words_range[1]:
        target_mentions = int(round(n_words / 6.5))
    if n_regions is None:
        n_regions = int(rng.integers(regions_range[0], regions_range[1] + 1))
    image_size = (float(rng.integers(320, 641)), float(rng.integers(240, 481)))
    n_entities = int(min(max(3, target_mentions // 3), n_regions, 40))
    categories = rng.integers(0, len(NOUNS), n_entities)
    adjectives = rng.integers(0, len(ADJECTIVES), n_entities)
    # Regions: one per entity, then distractors.
    boxes, labels, cats = [], [], []
    for c in categories.tolist():
        boxes.append(_random_box(rng, *image_size))
        labels.append(NOUNS[c][0])
        cats.append(c)
    while len(boxes) < n_regions:
        c = int(rng.integers(0, len(NOUNS)))
        boxes.append(_random_box(rng, *image_size))
        labels.append(NOUNS[c][0])
        cats.append(c)
    order = rng.permutation(n_regions)
    entity_region = {e: int(numpy.nonzero(order == e)[0][0]) for e in range(n_entities)}
    boxes = [boxes[i] for i in order]
    labels = [labels[i] for i in order]
    cats = [cats[i] for i in order]
    features = None
    if feature_width:
        protos = _prototypes(feature_width)
        features = protos[cats] + rng.normal(0.0, 0.5, (n_regions, feature_width)).astype("float32")
    regions = ImageRegions(
        numpy.asarray(boxes, dtype="float32"),
        features=features,
        labels=labels,
        scores=rng.uniform(0.1, 1.0, n_regions).astype("float32"),
        image_size=image_size,
        image_id=f"bench-{seed}",
    )
    # Text.
    pieces: List[str] = []
    length = 0
    words = 0
    mentions: List[Tuple[int, int, int]] = []  # start, end, entity
    seen = set()

    def mention_text(entity: int) -> str:
        noun, others, pronoun = NOUNS[int(categories[entity])]
        if entity not in seen:
            seen.add(entity)
            article = "some" if noun == "people" else "a"
            return f"{article} {ADJECTIVES[int(adjectives[entity])]} {noun}"
        choice = rng.random()
        if choice < 0.35:
            return pronoun
        if choice < 0.7:
            return f"the {noun}"
        return f"the {others[int(rng.integers(0, len(others)))]}"

    ratio = n_words / max(target_mentions, 1)
    while words < n_words or len(mentions) < target_mentions:
        left = target_mentions - len(mentions)
        if left > 0 and (len(mentions) * ratio <= words + ratio or words >= n_words):
            fitting = [t for t in MENTION_TEMPLATES if t.count("{") - t.count("{rel}") - t.count("{adj}") <= left]
            template = fitting[int(rng.integers(0, len(fitting)))]
        else:
            template = FILLERS[int(rng.integers(0, len(FILLERS)))]
        sentence_start = length + (1 if pieces else 0)
        if pieces:
            pieces.append(" ")
            length += 1
        parts = re.split(r"(\{[^}]*\})", template)
        sentence: List[str] = []
        offset = sentence_start
        for part in parts:
            if part in ("{0}", "{1}", "{2}"):
                entity = int(rng.integers(0, n_entities))
                text = mention_text(entity)
                if offset == sentence_start:
                    text = text[0].upper() + text[1:]
                mentions.append((offset, offset + len(text), entity))
            elif part == "{rel}":
                text = RELATIONS[int(rng.integers(0, len(RELATIONS)))]
            elif part == "{adj}":
                text = ADJECTIVES[int(rng.integers(0, len(ADJECTIVES)))]
            else:
                text = part
            sentence.append(text)
            offset += len(text)
        joined = "".join(sentence)
        pieces.append(joined)
        length += len(joined)
        words += len(joined.split())
    text = "".join(pieces)
    by_entity: Dict[int, List[Tuple[int, int]]] = {}
    gold_boxes: Dict[Tuple[int, int], List[List[float]]] = {}
    for start, end, entity in mentions:
        by_entity.setdefault(entity, []).append((start, end))
        x1, y1, x2, y2 = boxes[entity_region[entity]]
        jitter = rng.uniform(-0.05, 0.05, 4) * numpy.asarray([x2 - x1, y2 - y1] * 2)
        box = numpy.asarray([x1, y1, x2, y2]) + jitter
        box = numpy.clip(box, 0, [image_size[0], image_size[1]] * 2)
        gold_boxes[(start, end)] = [[float(v) for v in box]]
    clusters = [by_entity[e] for e in sorted(by_entity)]
    return Narration(text, clusters, gold_boxes, regions, len(text.split()), len(mentions))


def generate_narrations(n: int, seed: int = 0, **kwargs: Any) -> List[Narration]:
    """`n` narrations, the i-th generated from seed `seed * 1_000_003 + i`."""
    return [generate_narration(seed * 1_000_003 + i, **kwargs) for i in range(n)]
