"""A synthetic image: its entities, narration mentions and regions, and its
gold annotation as a CIN record and as scorch JSON."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

import numpy

from ..scoring.scorch_export import mention_ids, scorch_document
from .categories import Category


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
        """Gold chains as scorch JSON, in the order of their first mentions."""
        ids = mention_ids(self.text, [(m.start, m.end) for m in self.mentions])
        chains = sorted(self.chains().values(), key=lambda mentions: min(m.start for m in mentions))
        clusters = [[(m.start, m.end) for m in mentions] for mentions in chains]
        return scorch_document(self.image_id, clusters, ids)
