"""Feature prototypes: what makes a region's feature vector show its
category, colour, size and side."""
from typing import Optional

import numpy

from .categories import ALL_COLOURS, CATEGORIES, SUPER, Category

DEFAULT_FEATURE_WIDTH = 2048


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
