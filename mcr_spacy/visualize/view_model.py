"""The view model: what the page draws, read from a doc, independent of HTML.

A `View` has one `Side` for the predictions and one for the gold reference
(when given); a side holds the `Cluster`s and `Mention`s of one doc with
their colours and groundings.
"""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from spacy.tokens import Doc, Span

from ..annotation.clusters import get_cluster_groups
from ..annotation.gold import doc_name
from ..errors import AlignmentError, DataFormatError, Errors

Box = List[float]

# Distinct colours (after Sasha Trubetskoy's list of 20), dark enough for white labels.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#9a6324", "#800000", "#469990", "#000075", "#bfef45", "#ffe119", "#808000",
    "#fabed4", "#dcbeff", "#aaffc3", "#ffd8b1", "#a9a9a9", "#e6beff",
)
MUTED = "#9aa0a6"


@dataclass
class Mention:
    """One mention of one side (predicted or gold) of the view."""

    mid: str
    start_char: int
    end_char: int
    text: str
    cluster: Optional["Cluster"] = None
    box: Optional[Box] = None
    refined_box: Optional[Box] = None
    region: Optional[int] = None
    score: Optional[float] = None
    gold_boxes: Optional[List[Box]] = None
    # On predicted mentions: the box the scorer grades (its own, else its cluster's)
    graded_box: Optional[Box] = None
    # Filled in when gold is given (on predicted mentions):
    gold: Optional["Mention"] = None
    coref_ok: Optional[bool] = None
    coref_note: str = ""
    box_ok: Optional[bool] = None
    best_iou: Optional[float] = None
    found: bool = True  # on gold mentions: whether the prediction has it


@dataclass
class Cluster:
    """A cluster of one side of the view; singletons are drawn muted."""

    cid: str
    label: str
    colour: str
    mentions: List[Mention] = field(default_factory=list)
    box: Optional[Box] = None
    refined_box: Optional[Box] = None
    region: Optional[int] = None
    score: Optional[float] = None

    @property
    def singleton(self) -> bool:
        return len(self.mentions) < 2


@dataclass
class Side:
    """The mentions (by id) and clusters of one doc: "pred" or "gold"."""

    name: str
    mentions: Dict[str, Mention]
    clusters: List[Cluster]


@dataclass
class View:
    """Everything one page or fragment shows."""

    uid: str
    title: str
    text: str
    image_uri: Optional[str]
    size: Tuple[float, float]
    size_note: str
    regions: Any
    pred: Side
    gold: Optional[Side]
    scores: Dict[str, Optional[float]]


def collect_side(doc: Doc, name: str, prefix: str, mentions_key: Optional[str]) -> Side:
    """The clusters `doc.spans["{prefix}_*"]` and the other mentions of
    `doc.spans[mentions_key]` (as singletons) of one doc, with their groundings."""
    mentions: Dict[str, Mention] = {}
    clusters: List[Cluster] = []
    n_real = 0
    for key, group in get_cluster_groups(doc, prefix):
        spans = list(group)
        if not spans:
            continue
        multi = len(spans) >= 2
        if multi:
            n_real += 1
            label = f"{'C' if name == 'pred' else 'G'}{n_real}"
            colour = PALETTE[n_real - 1] if n_real <= len(PALETTE) else golden_colour(n_real)
        else:
            label = "singleton"
            colour = MUTED
        # ids from indices, never from the keys: they go into attributes and selectors
        cid = f"{name}-{label.lower()}" if multi else f"{name}-s{len(clusters) + 1}"
        cluster = Cluster(cid=cid, label=label, colour=colour)
        grounding = group.attrs.get("grounding") if hasattr(group, "attrs") else None
        where = f"cluster {key!r} of {doc_name(doc)}"
        _apply_grounding(cluster, grounding, where)
        for span in spans:
            mention = _mention(span, doc)
            if mention.mid in mentions:
                other = mentions[mention.mid].cluster
                raise AlignmentError(
                    Errors.E501.format(
                        doc=doc_name(doc), text=span.text, start=span.start_char, end=span.end_char,
                        first=other.cid if other else "?", second=cluster.cid,
                    )
                )
            mention.cluster = cluster
            cluster.mentions.append(mention)
            mentions[mention.mid] = mention
        clusters.append(cluster)
    if mentions_key is not None and mentions_key in doc.spans:
        for span in doc.spans[mentions_key]:
            mid = mention_id(span.start_char, span.end_char)
            if mid in mentions:
                known = mentions[mid]
                extra = _mention(span, doc)
                for attr in ("box", "refined_box", "region", "score", "gold_boxes"):
                    if getattr(known, attr) is None and getattr(extra, attr) is not None:
                        setattr(known, attr, getattr(extra, attr))
                continue
            mention = _mention(span, doc)
            cluster = Cluster(cid=f"{name}-{mid}", label="singleton", colour=MUTED, mentions=[mention])
            mention.cluster = cluster
            mentions[mid] = mention
            clusters.append(cluster)
    # A singleton is drawn once: its group's box, else its mention's box.
    for cluster in clusters:
        if cluster.singleton and cluster.mentions and cluster.box is None and cluster.refined_box is None:
            only = cluster.mentions[0]
            cluster.box, cluster.refined_box = only.box, only.refined_box
            cluster.region, cluster.score = only.region, only.score
    return Side(name=name, mentions=mentions, clusters=clusters)


def mention_id(start_char: int, end_char: int) -> str:
    """A mention's id in the page, from its character offsets."""
    return f"m{start_char}-{end_char}"


def _mention(span: Span, doc: Doc) -> Mention:
    mention = Mention(
        mid=mention_id(span.start_char, span.end_char),
        start_char=span.start_char,
        end_char=span.end_char,
        text=span.text,
    )
    grounding = span._.grounding if span.has_extension("grounding") else None
    where = f"mention {span.text!r} at characters [{span.start_char}, {span.end_char}) of {doc_name(doc)}"
    _apply_grounding(mention, grounding, where)
    return mention


def _apply_grounding(target: Any, grounding: Any, where: str) -> None:
    if grounding is None:
        return
    if not hasattr(grounding, "get"):
        raise DataFormatError(Errors.E502.format(where=where, type=type(grounding).__name__))
    target.box = _box(grounding.get("box"), where, "box")
    target.refined_box = _box(grounding.get("refined_box"), where, "refined_box")
    region = grounding.get("region")
    target.region = None if region is None else int(region)
    score = grounding.get("score")
    target.score = None if score is None else float(score)
    if "boxes" in grounding and hasattr(target, "gold_boxes"):
        boxes = grounding.get("boxes")
        target.gold_boxes = None if boxes is None else [_box(b, where, "boxes") for b in boxes]


def _box(value: Any, where: str, name: str) -> Optional[Box]:
    if value is None:
        return None
    try:
        box = [float(v) for v in value]
    except (TypeError, ValueError):
        box = []
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise DataFormatError(Errors.E503.format(name=name, where=where, value=value))
    return box


def golden_colour(i: int) -> str:
    """The `i`-th colour past the palette, spread over the hues by the golden ratio."""
    hue = (i * 0.618033988749895) % 1.0
    r, g, b = _hsl_to_rgb(hue, 0.65, 0.45)
    return f"#{r:02x}{g:02x}{b:02x}"


def _hsl_to_rgb(h: float, s: float, lum: float) -> Tuple[int, int, int]:
    def f(n: float) -> int:
        k = (n + h * 12) % 12
        a = s * min(lum, 1 - lum)
        return int(round(255 * (lum - a * max(-1, min(k - 3, 9 - k, 1)))))

    return f(0), f(8), f(4)


def all_boxes(side: Side) -> Iterable[Box]:
    """Every box of one side: clusters', mentions' and gold boxes."""
    for c in side.clusters:
        for b in (c.box, c.refined_box):
            if b is not None:
                yield b
    for m in side.mentions.values():
        for b in [m.box, m.refined_box] + list(m.gold_boxes or []):
            if b is not None:
                yield b
