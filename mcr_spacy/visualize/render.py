"""A self-contained HTML view of coreference clusters and their grounding.

`render(doc, image)` returns one HTML page (or fragment) with the narration,
every mention highlighted in its cluster's colour, and the image with each
cluster's grounded box and refined box drawn in the same colour. Hovering or
clicking a mention highlights its box and the rest of its cluster. Given a
gold reference doc, the gold clusters and boxes are shown beside the
predictions and each predicted mention is marked right or wrong. Everything
is inlined: the page loads nothing from the network.
"""
import base64
import html
import itertools
import math
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.tokens import Doc, Span

from ..annotation.boxes import box_iou
from ..errors import AlignmentError, DataFormatError
from ..annotation.extensions import DEFAULT_CLUSTER_PREFIX
from ..annotation.gold import DEFAULT_MENTIONS_KEY, doc_name
from ..annotation.clusters import get_cluster_groups

Box = List[float]
ImageInput = Union[None, str, Path, bytes, bytearray, numpy.ndarray]

# Distinct colours (after Sasha Trubetskoy's list of 20), dark enough for white labels.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#9a6324", "#800000", "#469990", "#000075", "#bfef45", "#ffe119", "#808000",
    "#fabed4", "#dcbeff", "#aaffc3", "#ffd8b1", "#a9a9a9", "#e6beff",
)
MUTED = "#9aa0a6"
DEFAULT_CANVAS = (640.0, 480.0)
from ..defaults import IOU_THRESHOLD  # noqa: E402
_view_counter = itertools.count(1)


def render(
    doc: Doc,
    image: ImageInput = None,
    *,
    prefix: str = DEFAULT_CLUSTER_PREFIX,
    mentions_key: Optional[str] = "coref_mentions",
    gold: Optional[Doc] = None,
    gold_prefix: Optional[str] = None,
    gold_mentions_key: Optional[str] = DEFAULT_MENTIONS_KEY,
    image_size: Optional[Tuple[float, float]] = None,
    title: Optional[str] = None,
    show_regions: bool = False,
    page: bool = True,
) -> str:
    """Render the predicted clusters and groundings of `doc` as HTML.

    doc (Doc): clusters in `doc.spans["{prefix}_{i}"]`, mentions in
        `doc.spans[mentions_key]`, `span._.grounding` dicts on the mentions and
        `attrs["grounding"]` on the cluster groups.
    image: path to an image file, the file's bytes, a numpy uint8 array
        (H x W, H x W x 3 or H x W x 4), or None for a blank canvas.
    prefix (str): the prefix of the predicted cluster keys.
    mentions_key (str or None): the key of every mention considered.
    gold (Doc or None): a reference doc on the same text with gold clusters and
        `span._.grounding["boxes"]`, shown beside the predictions.
    gold_prefix (str or None): the prefix of the gold cluster keys (default: `prefix`).
    gold_mentions_key (str or None): the key of the gold mentions in `gold.spans`.
    image_size (Tuple[float, float] or None): `(width, height)` of the image the
        boxes refer to; default `doc._.image_regions.image_size`, else the
        image's own size, else the extent of the boxes.
    title (str or None): the page title; default the image id or the first words.
    show_regions (bool): show the detected regions when the page opens.
    page (bool): a whole HTML page (True) or a fragment to embed (False), e.g.
        in a notebook with `IPython.display.HTML`; each fragment has its own id.
    RETURNS (str): the HTML.
    """
    view = build_view(
        doc,
        image,
        prefix=prefix,
        mentions_key=mentions_key,
        gold=gold,
        gold_prefix=gold_prefix,
        gold_mentions_key=gold_mentions_key,
        image_size=image_size,
        title=title,
    )
    if page:
        view.uid = "mcr-view"  # one view per page: the same input gives the same page
    body = _render_view(view, show_regions=show_regions)
    if not page:
        return f"<style>{_CSS}</style>\n{body}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_esc(view.title)}</title>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------------
# The view model: what is drawn, independent of HTML.


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
    name: str
    mentions: Dict[str, Mention]
    clusters: List[Cluster]


@dataclass
class View:
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


def build_view(
    doc: Doc,
    image: ImageInput = None,
    *,
    prefix: str = DEFAULT_CLUSTER_PREFIX,
    mentions_key: Optional[str] = "coref_mentions",
    gold: Optional[Doc] = None,
    gold_prefix: Optional[str] = None,
    gold_mentions_key: Optional[str] = DEFAULT_MENTIONS_KEY,
    image_size: Optional[Tuple[float, float]] = None,
    title: Optional[str] = None,
) -> View:
    """Collect what `render` draws: mentions, clusters, boxes and marks."""
    if gold is not None and gold.text != doc.text:
        raise AlignmentError(
            f"render: the gold doc ({doc_name(gold)}) has a different text from the "
            f"predicted {doc_name(doc)}. Pass the reference doc of the same narration "
            f"(e.g. `example.reference` with `example.predicted`)."
        )
    pred = _collect_side(doc, "pred", prefix, mentions_key)
    gold_side = None
    if gold is not None:
        gold_side = _collect_side(gold, "gold", gold_prefix or prefix, gold_mentions_key)
        _match_colours(pred, gold_side)
        _mark(pred, gold_side)
    regions = doc._.image_regions if doc.has_extension("image_regions") else None
    image_uri, own_size = (None, None) if image is None else image_data_uri(image)
    size, note = _canvas_size(image_size, regions, own_size, pred, gold_side)
    if title is None:
        if regions is not None and regions.image_id is not None:
            title = f"Image {regions.image_id}"
        else:
            title = doc.text[:60] + ("…" if len(doc.text) > 60 else "") or "Empty doc"
    scores = view_scores(pred, gold_side) if gold_side is not None else {}
    return View(
        uid=f"mcr-view-{next(_view_counter)}",
        title=title,
        text=doc.text,
        image_uri=image_uri,
        size=size,
        size_note=note,
        regions=regions,
        pred=pred,
        gold=gold_side,
        scores=scores,
    )


def _collect_side(doc: Doc, name: str, prefix: str, mentions_key: Optional[str]) -> Side:
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
            colour = PALETTE[n_real - 1] if n_real <= len(PALETTE) else _golden_colour(n_real)
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
                    f"In {doc_name(doc)}: mention {span.text!r} at characters "
                    f"[{span.start_char}, {span.end_char}) is in two clusters "
                    f"({other.cid if other else '?'} and {cluster.cid}). A mention "
                    f"belongs to one cluster."
                )
            mention.cluster = cluster
            cluster.mentions.append(mention)
            mentions[mention.mid] = mention
        clusters.append(cluster)
    if mentions_key is not None and mentions_key in doc.spans:
        for span in doc.spans[mentions_key]:
            mid = _mid(span)
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


def _mid(span: Span) -> str:
    return f"m{span.start_char}-{span.end_char}"


def _mention(span: Span, doc: Doc) -> Mention:
    mention = Mention(
        mid=_mid(span),
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
        raise DataFormatError(
            f"The grounding of {where} is {type(grounding).__name__}, not a dict. "
            f"Predictions carry {{'region', 'box', 'score', 'refined_box'}}, gold "
            f"annotation {{'boxes': [[x1, y1, x2, y2], ...]}}."
        )
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
        raise DataFormatError(
            f"The grounding {name!r} of {where} is {value!r}; a box is four finite "
            f"numbers [x1, y1, x2, y2] in pixels."
        )
    return box


def _golden_colour(i: int) -> str:
    hue = (i * 0.618033988749895) % 1.0
    r, g, b = _hsl_to_rgb(hue, 0.65, 0.45)
    return f"#{r:02x}{g:02x}{b:02x}"


def _hsl_to_rgb(h: float, s: float, lum: float) -> Tuple[int, int, int]:
    def f(n: float) -> int:
        k = (n + h * 12) % 12
        a = s * min(lum, 1 - lum)
        return int(round(255 * (lum - a * max(-1, min(k - 3, 9 - k, 1)))))

    return f(0), f(8), f(4)


def _match_colours(pred: Side, gold: Side) -> None:
    """Give each gold cluster the colour of the predicted cluster that holds most
    of its mentions, so that a right cluster looks the same on both sides."""
    taken = set()
    used = {c.colour for c in pred.clusters if not c.singleton}
    spare = (c for c in itertools.chain(PALETTE, (_golden_colour(i) for i in itertools.count(100))) if c not in used)
    for cluster in gold.clusters:
        if cluster.singleton:
            continue
        counts: Dict[str, int] = {}
        for m in cluster.mentions:
            p = pred.mentions.get(m.mid)
            if p is not None and p.cluster is not None and not p.cluster.singleton:
                counts[p.cluster.cid] = counts.get(p.cluster.cid, 0) + 1
        best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        match = next((cid for cid, _ in best if cid not in taken), None)
        if match is not None:
            taken.add(match)
            cluster.colour = next(c.colour for c in pred.clusters if c.cid == match)
        else:
            cluster.colour = next(spare)


def _mark(pred: Side, gold: Side) -> None:
    """Mark each predicted mention's cluster and box right or wrong."""
    for g in gold.mentions.values():
        g.found = g.mid in pred.mentions
    for m in pred.mentions.values():
        g = gold.mentions.get(m.mid)
        m.gold = g
        if g is None:
            if m.cluster is not None and not m.cluster.singleton:
                m.coref_ok, m.coref_note = False, "not a gold mention"
            continue
        pred_mates = {
            o.mid for o in (m.cluster.mentions if m.cluster and not m.cluster.singleton else [])
            if o.mid != m.mid and o.mid in gold.mentions
        }
        gold_mates = {o.mid for o in (g.cluster.mentions if g.cluster else []) if o.mid != m.mid}
        m.coref_ok = pred_mates == gold_mates
        if m.coref_ok:
            m.coref_note = "cluster right" if gold_mates else "singleton, right"
        else:
            missing = len(gold_mates - pred_mates)
            extra = len(pred_mates - gold_mates)
            m.coref_note = f"cluster wrong: {missing} gold mate(s) missing, {extra} wrong mate(s)"
        gold_boxes = g.gold_boxes or []
        if gold_boxes:
            box = _predicted_box(m)
            if box is None:
                m.box_ok, m.best_iou = False, None
            else:
                m.best_iou = float(box_iou([box], gold_boxes, inclusive=True).max())
                m.box_ok = m.best_iou >= IOU_THRESHOLD


def _predicted_box(m: Mention) -> Optional[Box]:
    if m.box is not None:
        return m.box
    if m.cluster is not None and m.cluster.singleton:
        return m.cluster.box
    return None


def view_scores(pred: Side, gold: Side) -> Dict[str, Optional[float]]:
    """Per-doc numbers shown in the page header: grounding accuracy (each
    (gold mention, gold box) pair is right when the mention's predicted box has
    IoU >= 0.5 with it), the share of gold mentions found, and the share of
    predicted gold mentions whose cluster has exactly the right gold mates."""
    right = total = 0
    for g in gold.mentions.values():
        boxes = g.gold_boxes or []
        m = pred.mentions.get(g.mid)
        box = None if m is None else _predicted_box(m)
        total += len(boxes)
        if box is not None and boxes:
            right += int((box_iou([box], boxes, inclusive=True) >= IOU_THRESHOLD).sum())
    found = [m for m in pred.mentions.values() if m.gold is not None]
    coref = [m for m in found if m.coref_ok is not None]
    return {
        "grounding_acc": right / total if total else None,
        "mention_recall": (len(found) / len(gold.mentions)) if gold.mentions else None,
        "coref_right": (sum(m.coref_ok for m in coref) / len(coref)) if coref else None,
    }


def _canvas_size(
    image_size: Optional[Tuple[float, float]],
    regions: Any,
    own_size: Optional[Tuple[int, int]],
    pred: Side,
    gold: Optional[Side],
) -> Tuple[Tuple[float, float], str]:
    if image_size is not None:
        w, h = float(image_size[0]), float(image_size[1])
        if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
            raise DataFormatError(f"render: image_size must be two positive numbers (width, height), got {image_size!r}.")
        return (w, h), ""
    if regions is not None:
        return tuple(regions.image_size), ""
    if own_size is not None:
        return (float(own_size[0]), float(own_size[1])), ""
    boxes = [b for side in (pred, gold) if side is not None for b in _all_boxes(side)]
    if boxes:
        w = max(b[2] for b in boxes) + 1
        h = max(b[3] for b in boxes) + 1
        return (max(w, 1.0), max(h, 1.0)), "image size unknown: canvas fitted to the boxes"
    return DEFAULT_CANVAS, "image size unknown"


def _all_boxes(side: Side) -> Iterable[Box]:
    for c in side.clusters:
        for b in (c.box, c.refined_box):
            if b is not None:
                yield b
    for m in side.mentions.values():
        for b in [m.box, m.refined_box] + list(m.gold_boxes or []):
            if b is not None:
                yield b


# ---------------------------------------------------------------------------
# Images: inlined as data URIs; numpy arrays encoded as PNG with zlib.


def image_data_uri(image: ImageInput) -> Tuple[str, Optional[Tuple[int, int]]]:
    """A `data:` URI for an image path, the bytes of an image file or a numpy
    uint8 array, and the image's `(width, height)` where it can be read."""
    if isinstance(image, numpy.ndarray):
        data = encode_png(image)
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), (
            int(image.shape[1]),
            int(image.shape[0]),
        )
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise FileNotFoundError(
                f"render: image file {str(path)!r} does not exist. Pass the path of a "
                f"JPEG/PNG/GIF/WebP file, its bytes, a numpy array, or None for a blank canvas."
            )
        data = path.read_bytes()
        where = f"image file {str(path)!r}"
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        where = "image bytes"
    else:
        raise DataFormatError(
            f"render: cannot use an image of type {type(image).__name__}. Pass a path, "
            f"the bytes of an image file, a numpy uint8 array (H x W x 3), or None."
        )
    mime = _sniff_mime(data)
    if mime is None:
        raise DataFormatError(
            f"render: {where} is not a JPEG, PNG, GIF or WebP image (first bytes "
            f"{data[:8]!r}). Convert it to one of those formats."
        )
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii"), image_file_size(data)


def _sniff_mime(data: bytes) -> Optional[str]:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_file_size(data: bytes) -> Optional[Tuple[int, int]]:
    """`(width, height)` read from the header of a PNG, GIF or JPEG file, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            if marker == 0xDA:  # start of scan: no frame header found before it
                return None
            i += 2 + length
    return None


def encode_png(array: Any) -> bytes:
    """Encode a uint8 array (H x W grey, H x W x 3 RGB or H x W x 4 RGBA) as PNG,
    with the standard library's zlib."""
    arr = numpy.asarray(array)
    if arr.dtype != numpy.uint8:
        raise DataFormatError(
            f"render: image arrays must be uint8 (0-255), got dtype {arr.dtype}. "
            f"Convert with `(array * 255).clip(0, 255).astype('uint8')` for 0-1 floats."
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        colour_type, channels = 0, 1
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        colour_type, channels = (2, 3) if arr.shape[2] == 3 else (6, 4)
    else:
        raise DataFormatError(
            f"render: an image array must be H x W, H x W x 3 or H x W x 4, got shape {list(arr.shape)}."
        )
    height, width = arr.shape[:2]
    if height == 0 or width == 0:
        raise DataFormatError(f"render: the image array is empty (shape {list(arr.shape)}).")
    rows = numpy.ascontiguousarray(arr).reshape((height, width * channels))
    raw = numpy.hstack([numpy.zeros((height, 1), dtype=numpy.uint8), rows]).tobytes()

    def chunk(tag: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(tag + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------------
# HTML.


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _box_text(box: Optional[Box]) -> str:
    return "none" if box is None else "[" + ", ".join(_fmt(v) for v in box) + "]"


def _short(text: str, n: int = 24) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _render_view(view: View, *, show_regions: bool) -> str:
    classes = ["mcr-view", "show-mention-boxes"]
    if show_regions:
        classes.append("show-regions")
    parts = [f'<div class="{" ".join(classes)}" id="{view.uid}">']
    parts.append(f"<header><h1>{_esc(view.title)}</h1>{_render_meta(view)}</header>")
    parts.append(_render_controls(view, show_regions))
    panel_class = "panels with-gold" if view.gold is not None else "panels"
    parts.append(f'<div class="{panel_class}">')
    parts.append(_render_panel(view, view.pred, "Predicted"))
    if view.gold is not None:
        parts.append(_render_panel(view, view.gold, "Gold"))
    parts.append("</div>")
    parts.append(_render_legend(view))
    parts.append(_render_table(view))
    parts.append(f"<script>{_JS.replace('__ROOT__', view.uid)}</script>")
    parts.append("</div>")
    return "\n".join(parts)


def _render_meta(view: View) -> str:
    pred = view.pred
    n_clusters = sum(1 for c in pred.clusters if not c.singleton)
    n_single = sum(1 for c in pred.clusters if c.singleton)
    items = [
        f"{len(pred.mentions)} mentions",
        f"{n_clusters} clusters",
        f"{n_single} singletons",
        f"canvas {_fmt(view.size[0])}×{_fmt(view.size[1])}",
    ]
    if view.regions is not None:
        items.append(f"{len(view.regions)} detected regions")
    if view.size_note:
        items.append(view.size_note)
    if view.image_uri is None:
        items.append("no image: boxes on a blank canvas")
    names = {
        "grounding_acc": "grounding accuracy",
        "mention_recall": "gold mentions found",
        "coref_right": "mentions clustered right",
    }
    for key, value in view.scores.items():
        if value is not None:
            items.append(f'<span class="score" data-score="{key}">{names.get(key, key)} {value:.0%}</span>')
    return '<p class="meta">' + " · ".join(i if i.startswith("<span") else _esc(i) for i in items) + "</p>"


def _render_controls(view: View, show_regions: bool) -> str:
    boxes = [
        ("show-mention-boxes", "mention boxes", True),
        ("show-singletons", "singleton boxes", False),
    ]
    if view.regions is not None and len(view.regions):
        boxes.append(("show-regions", "detected regions", show_regions))
    out = ['<div class="controls">Show: ']
    for cls, label, checked in boxes:
        out.append(
            f'<label><input type="checkbox" data-toggle="{cls}"{" checked" if checked else ""}> {_esc(label)}</label>'
        )
    out.append('<span class="hint">Hover or click a mention, a box or a legend entry; Esc clears.</span></div>')
    return "".join(out)


def _render_panel(view: View, side: Side, heading: str) -> str:
    return (
        f'<section class="panel panel-{side.name}"><h2>{_esc(heading)}</h2>'
        f'<div class="panel-body"><figure class="image">{_render_svg(view, side)}</figure>'
        f'<div class="narration" data-side="{side.name}">{_render_text(view, side)}</div></div></section>'
    )


def _render_svg(view: View, side: Side) -> str:
    w, h = view.size
    scale = max(w, h)
    font = max(scale / 36.0, 1.0)
    out = [
        f'<svg class="canvas-svg" data-side="{side.name}" viewBox="0 0 {_fmt(w)} {_fmt(h)}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" '
        f'style="--label-size:{font:.1f}px" role="img" aria-label="{_esc(side.name)} boxes">'
    ]
    if view.image_uri is not None and side.name == "pred":
        out.append(
            f'<image id="{view.uid}-image" href="{view.image_uri}" x="0" y="0" width="{_fmt(w)}" '
            f'height="{_fmt(h)}" preserveAspectRatio="none"/>'
        )
    elif view.image_uri is not None:  # the gold panel reuses the predicted panel's image
        out.append(f'<use href="#{view.uid}-image"/>')
    else:
        out.append(f'<rect class="blank" x="0" y="0" width="{_fmt(w)}" height="{_fmt(h)}"/>')
    if side.name == "pred" and view.regions is not None:
        out.append('<g class="regions">')
        labels = view.regions.labels
        for i, box in enumerate(view.regions.boxes.tolist()):
            tip = f"region {i}" + (f": {labels[i]}" if labels else "")
            out.append(f'<rect class="region" data-region="{i}" {_rect_attrs(box)}><title>{_esc(tip)}</title></rect>')
        out.append("</g>")
    labels_out = []
    if side.name == "pred":
        clusters = sorted(side.clusters, key=lambda c: -_area(c.box))
        for c in clusters:
            out.extend(_cluster_boxes(view, c, labels_out, font))
        mention_rects = []
        for m in side.mentions.values():
            if m.cluster is None or m.cluster.singleton:
                continue  # drawn as its singleton cluster's box
            for box, refined in ((m.box, False), (m.refined_box, True)):
                if box is None:
                    continue
                cls = "box box-mention" + (" box-refined" if refined else "")
                tip = f"{m.text}: {'refined box' if refined else 'box'} {_box_text(box)}"
                mention_rects.append((
                    -_area(box),
                    f'<rect class="{cls}" data-m="{m.mid}" data-c="{m.cluster.cid if m.cluster else ""}" '
                    f'style="--c:{m.cluster.colour if m.cluster else MUTED}" {_rect_attrs(box)}>'
                    f"<title>{_esc(tip)}</title></rect>",
                ))
        out.extend(r for _, r in sorted(mention_rects, key=lambda t: t[0]))
    else:
        for c in side.clusters:
            seen: Dict[Tuple[float, ...], List[Mention]] = {}
            for m in c.mentions:
                for gb in m.gold_boxes or []:
                    seen.setdefault(tuple(gb), []).append(m)
            for j, (gb, ms) in enumerate(sorted(seen.items(), key=lambda kv: -_area(list(kv[0])))):
                cls = "box box-gold" + (" singleton" if c.singleton else "")
                mids = " ".join(m.mid for m in ms)
                tip = f"{c.label}: {', '.join(m.text for m in ms)} {_box_text(list(gb))}"
                out.append(
                    f'<rect class="{cls}" data-m="{mids}" data-gc="{c.cid}" style="--c:{c.colour}" '
                    f'{_rect_attrs(list(gb))}><title>{_esc(tip)}</title></rect>'
                )
                text = _short(ms[0].text) if c.singleton else f"{c.label} {_short(ms[0].text)}"
                labels_out.append(_label(list(gb), text, c, font, f'data-gc="{c.cid}" data-m="{mids}"'))
    out.append('<g class="labels">' + "".join(labels_out) + "</g>")
    out.append("</svg>")
    return "".join(out)


def _area(box: Optional[Sequence[float]]) -> float:
    if box is None:
        return 0.0
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _rect_attrs(box: Sequence[float]) -> str:
    x1, y1, x2, y2 = box
    return (
        f'x="{_fmt(x1)}" y="{_fmt(y1)}" width="{_fmt(max(x2 - x1, 1.0))}" '
        f'height="{_fmt(max(y2 - y1, 1.0))}"'
    )


def _cluster_boxes(view: View, c: Cluster, labels_out: List[str], font: float) -> List[str]:
    out = []
    extra = " singleton" if c.singleton else ""
    name = c.label if not c.singleton else _short(c.mentions[0].text)
    first = _short(c.mentions[0].text) if c.mentions else ""
    region = ""
    if c.region is not None and view.regions is not None and view.regions.labels and 0 <= c.region < len(view.regions):
        region = f" (region {c.region}: {view.regions.labels[c.region]})"
    elif c.region is not None:
        region = f" (region {c.region})"
    score = f", score {c.score:.2f}" if c.score is not None else ""
    if c.box is not None:
        tip = f"{name}: {', '.join(m.text for m in c.mentions)}{region}{score} box {_box_text(c.box)}"
        out.append(
            f'<rect class="box box-cluster{extra}" data-c="{c.cid}" style="--c:{c.colour}" '
            f'{_rect_attrs(c.box)}><title>{_esc(tip)}</title></rect>'
        )
        text = name if c.singleton else f"{name} {first}"
        labels_out.append(_label(c.box, text, c, font, f'data-c="{c.cid}"'))
    if c.refined_box is not None:
        tip = f"{name}: refined box {_box_text(c.refined_box)}"
        out.append(
            f'<rect class="box box-cluster box-refined{extra}" data-c="{c.cid}" '
            f'style="--c:{c.colour}" {_rect_attrs(c.refined_box)}><title>{_esc(tip)}</title></rect>'
        )
        if c.box is None:
            labels_out.append(_label(c.refined_box, f"{name} (refined)", c, font, f'data-c="{c.cid}"'))
    return out


def _label(box: Sequence[float], text: str, c: Cluster, font: float, data: str) -> str:
    x = box[0] + font * 0.2
    y = box[1] + font * 0.95
    extra = " singleton" if c.singleton else ""
    return (
        f'<text class="box-label{extra}" {data} x="{_fmt(x)}" y="{_fmt(y)}" style="--c:{c.colour}">'
        f"{_esc(text)}</text>"
    )


def _render_text(view: View, side: Side) -> str:
    """The narration with nested mention spans; crossing mentions are split into
    fragments that share their data attributes."""
    text = view.text
    mentions = sorted(side.mentions.values(), key=lambda m: (m.start_char, -m.end_char))
    if not mentions:
        return f'<p>{_esc(text) or "<em>(empty doc)</em>"}</p>'
    opens: Dict[int, List[Mention]] = {}
    for m in mentions:
        opens.setdefault(m.start_char, []).append(m)
    cuts = sorted({0, len(text)} | {m.start_char for m in mentions} | {m.end_char for m in mentions})
    out: List[str] = []
    stack: List[Mention] = []
    for pos, nxt in zip(cuts, cuts[1:] + [None]):
        # close mentions that end here (and reopen crossing ones that must continue)
        ending = [m for m in stack if m.end_char == pos]
        if ending:
            deepest = min(stack.index(m) for m in ending)
            reopen = [m for m in stack[deepest:] if m.end_char != pos]
            for m in reversed(stack[deepest:]):
                out.append(_close(m, side, view))
            stack = stack[:deepest] + []
            for m in reopen:
                out.append(_open(m, side, fragment=True))
                stack.append(m)
        for m in opens.get(pos, []):
            out.append(_open(m, side, fragment=False))
            stack.append(m)
        if nxt is not None:
            out.append(_esc(text[pos:nxt]).replace("\n", "<br>"))
    for m in reversed(stack):
        out.append(_close(m, side, view))
    return "<p>" + "".join(out) + "</p>"


def _open(m: Mention, side: Side, fragment: bool) -> str:
    c = m.cluster
    colour = c.colour if c is not None else MUTED
    classes = ["mention"]
    if c is None or c.singleton:
        classes.append("singleton")
    if fragment:
        classes.append("fragment")
    gc = ""
    if side.name == "pred" and m.gold is not None and m.gold.cluster is not None:
        gc = f' data-gc="{m.gold.cluster.cid}"'
    if side.name == "gold":
        gc = f' data-gc="{c.cid}"' if c is not None else ""
        if not m.found:
            classes.append("missed")
    cid = f' data-c="{c.cid}"' if (c is not None and side.name == "pred") else ""
    tip = _mention_tip(m, side)
    return (
        f'<span class="{" ".join(classes)}" data-m="{m.mid}"{cid}{gc} '
        f'style="--c:{colour};--bg:{_rgba(colour, 0.22 if c is not None and not c.singleton else 0.12)}" '
        f'title="{_esc(tip)}" tabindex="0">'
    )


def _mention_tip(m: Mention, side: Side) -> str:
    c = m.cluster
    bits = [m.text]
    if c is not None:
        bits.append(c.label if not c.singleton else "singleton")
    if side.name == "pred":
        if m.box is not None or (c is not None and c.singleton and c.box is not None):
            bits.append(f"box {_box_text(_predicted_box(m))}")
        if m.score is not None:
            bits.append(f"score {m.score:.2f}")
        if m.coref_note:
            bits.append(m.coref_note)
        if m.box_ok is not None:
            iou = "no box" if m.best_iou is None else f"IoU {m.best_iou:.2f}"
            bits.append(f"box {'right' if m.box_ok else 'wrong'} ({iou})")
    else:
        if m.gold_boxes:
            bits.append("gold boxes " + " ".join(_box_text(b) for b in m.gold_boxes))
        elif m.gold_boxes is not None:
            bits.append("no gold box")
    return " · ".join(bits)


def _close(m: Mention, side: Side, view: View) -> str:
    c = m.cluster
    tags = []
    if c is not None and not c.singleton:
        tags.append(f'<sup class="tag">{_esc(c.label)}</sup>')
    if side.name == "pred":
        if m.coref_ok is not None:
            ok = "ok" if m.coref_ok else "bad"
            tags.append(f'<sup class="mark mark-coref {ok}" title="{_esc(m.coref_note)}">{"✓" if m.coref_ok else "✗"}</sup>')
        if m.box_ok is not None:
            ok = "ok" if m.box_ok else "bad"
            iou = "no predicted box" if m.best_iou is None else f"IoU {m.best_iou:.2f}"
            tags.append(
                f'<sup class="mark mark-box {ok}" title="box {"right" if m.box_ok else "wrong"}: {iou}">'
                f'▢{"✓" if m.box_ok else "✗"}</sup>'
            )
    return "".join(tags) + "</span>"


def _render_legend(view: View) -> str:
    out = ['<section class="legend"><h2>Legend</h2><ul>']
    for side in (view.pred, view.gold):
        if side is None:
            continue
        for c in side.clusters:
            if c.singleton:
                continue
            attr = f'data-c="{c.cid}"' if side.name == "pred" else f'data-gc="{c.cid}"'
            grounding = ""
            if c.box is not None:
                grounding = f" · box {_box_text(c.box)}"
                if c.score is not None:
                    grounding += f" ({c.score:.2f})"
            texts = ", ".join(_short(m.text, 30) for m in c.mentions)
            out.append(
                f'<li class="legend-item" {attr} tabindex="0"><span class="swatch" style="--c:{c.colour}"></span>'
                f"<b>{_esc(c.label)}</b> {_esc(texts)}{_esc(grounding)}</li>"
            )
        n_single = sum(1 for c in side.clusters if c.singleton)
        if n_single:
            what = "predicted" if side.name == "pred" else "gold"
            out.append(
                f'<li class="legend-single"><span class="swatch" style="--c:{MUTED}"></span>'
                f"{n_single} {what} singleton(s), muted</li>"
            )
    out.append("</ul>")
    out.append(
        '<p class="key"><svg width="34" height="12"><line x1="1" y1="6" x2="33" y2="6" class="k-solid"/></svg> '
        "cluster's grounded box "
        '<svg width="34" height="12"><line x1="1" y1="6" x2="33" y2="6" class="k-dashed"/></svg> refined box '
        '<svg width="34" height="12"><line x1="1" y1="6" x2="33" y2="6" class="k-thin"/></svg> a mention\'s own box'
    )
    if view.gold is not None:
        out.append(
            " · <b>✓/✗</b> mention in the right cluster (same gold mates) · "
            f"<b>▢✓/▢✗</b> predicted box IoU ≥ {IOU_THRESHOLD} with a gold box"
        )
    out.append("</p></section>")
    return "".join(out)


def _render_table(view: View) -> str:
    gold = view.gold
    head = ["mention", "chars", "cluster", "box", "refined", "score"]
    if gold is not None:
        head += ["gold cluster", "gold boxes", "best IoU", "cluster", "box"]
    rows = []
    for m in sorted(view.pred.mentions.values(), key=lambda m: (m.start_char, m.end_char)):
        c = m.cluster
        cells = [
            _esc(m.text),
            f"{m.start_char}–{m.end_char}",
            _esc(c.label if c is not None and not c.singleton else "—"),
            _esc(_box_text(_predicted_box(m))),
            _esc(_box_text(m.refined_box if m.refined_box is not None else (c.refined_box if c and c.singleton else None))),
            "" if m.score is None else f"{m.score:.2f}",
        ]
        if gold is not None:
            g = m.gold
            cells += [
                _esc("not gold" if g is None else (g.cluster.label if g.cluster and not g.cluster.singleton else "—")),
                _esc("" if g is None or not g.gold_boxes else " ".join(_box_text(b) for b in g.gold_boxes)),
                "" if m.best_iou is None else f"{m.best_iou:.2f}",
                _mark_cell(m.coref_ok),
                _mark_cell(m.box_ok),
            ]
        gc = f' data-gc="{m.gold.cluster.cid}"' if m.gold is not None and m.gold.cluster else ""
        rows.append(
            f'<tr data-m="{m.mid}" data-c="{c.cid if c else ""}"{gc}>' + "".join(f"<td>{x}</td>" for x in cells) + "</tr>"
        )
    if gold is not None:
        for g in sorted(gold.mentions.values(), key=lambda m: (m.start_char, m.end_char)):
            if g.mid in view.pred.mentions:
                continue
            cells = [_esc(g.text), f"{g.start_char}–{g.end_char}", "not predicted", "", "", ""]
            cells += [
                _esc(g.cluster.label if g.cluster and not g.cluster.singleton else "—"),
                _esc(" ".join(_box_text(b) for b in g.gold_boxes or [])),
                "",
                _mark_cell(False),
                _mark_cell(False if g.gold_boxes else None),
            ]
            rows.append(
                f'<tr class="missed" data-m="{g.mid}" data-gc="{g.cluster.cid if g.cluster else ""}">'
                + "".join(f"<td>{x}</td>" for x in cells) + "</tr>"
            )
    return (
        '<details class="mentions-table"><summary>All mentions</summary><table><thead><tr>'
        + "".join(f"<th>{_esc(h)}</th>" for h in head)
        + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></details>"
    )


def _mark_cell(ok: Optional[bool]) -> str:
    if ok is None:
        return ""
    return '<span class="mark ok">✓</span>' if ok else '<span class="mark bad">✗</span>'


_CSS = """
.mcr-view{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1500px;margin:0 auto;padding:12px}
.mcr-view h1{font-size:20px;margin:0 0 2px}
.mcr-view h2{font-size:15px;margin:6px 0;color:#555;text-transform:uppercase;letter-spacing:.04em}
.mcr-view .meta{color:#666;margin:0 0 8px;font-size:13px}
.mcr-view .score{color:#222;font-weight:600}
.mcr-view .controls{font-size:13px;color:#444;margin-bottom:8px}
.mcr-view .controls label{margin-right:12px;cursor:pointer}
.mcr-view .hint{color:#888}
.mcr-view .panels{display:flex;flex-wrap:wrap;gap:18px}
.mcr-view .panel{flex:1 1 420px;min-width:0}
.mcr-view .panels:not(.with-gold) .panel-body{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.mcr-view .panels:not(.with-gold) .image{flex:1 1 420px}
.mcr-view .panels:not(.with-gold) .narration{flex:1 1 360px}
.mcr-view figure.image{margin:0}
.mcr-view .canvas-svg{width:100%;height:auto;max-height:78vh;display:block;background:#fafafa;border:1px solid #ddd}
.mcr-view .blank{fill:#f1f1f1;stroke:#ccc;stroke-dasharray:6 4;vector-effect:non-scaling-stroke}
.mcr-view .box{fill:none;stroke:var(--c);stroke-width:3px;vector-effect:non-scaling-stroke;pointer-events:visibleStroke;cursor:pointer}
.mcr-view .box-refined{stroke-dasharray:7 4}
.mcr-view .box-mention{stroke-width:1.5px;opacity:.75}
.mcr-view .box-gold{stroke-width:3px}
.mcr-view .box.singleton,.mcr-view .box-label.singleton{display:none}
.mcr-view.show-singletons .box.singleton,.mcr-view.show-singletons .box-label.singleton,.mcr-view .box.singleton.hl,.mcr-view .box-label.singleton.hl{display:inline}
.mcr-view:not(.show-mention-boxes) .box-mention:not(.hl){display:none}
.mcr-view .region{fill:none;stroke:#fff;stroke-opacity:.7;stroke-width:1px;stroke-dasharray:2 3;vector-effect:non-scaling-stroke;display:none}
.mcr-view.show-regions .region{display:inline}
.mcr-view .box-label{font-size:var(--label-size);font-weight:700;fill:#fff;stroke:var(--c);stroke-width:.22em;paint-order:stroke;stroke-linejoin:round;pointer-events:none}
.mcr-view.focusing .box:not(.hl){opacity:.18}
.mcr-view.focusing .box-label:not(.hl){opacity:.18}
.mcr-view .box.hl{opacity:1;stroke-width:4px}
.mcr-view .box.sel{stroke-width:7px}
.mcr-view .box-mention.hl:not(.sel){stroke-width:2px}
.mcr-view .narration{font-size:16px;line-height:2.1}
.mcr-view .narration p{margin:0}
.mcr-view .mention{background:var(--bg);border-bottom:3px solid var(--c);border-radius:3px;padding:1px 2px;cursor:pointer}
.mcr-view .mention.singleton{border-bottom:2px dotted var(--c);color:#555}
.mcr-view .mention .mention{padding:0 1px}
.mcr-view.focusing .mention:not(.hl){background:transparent}
.mcr-view .mention.hl{background:var(--bg);outline:2px solid var(--c)}
.mcr-view .mention.sel{background:var(--c);color:#fff;outline:2px solid #222}
.mcr-view .mention.sel .tag,.mcr-view .mention.sel .mark{color:#fff}
.mcr-view .tag{font-size:11px;font-weight:700;color:var(--c);margin-left:1px}
.mcr-view .mark{font-size:12px;font-weight:700;margin-left:1px}
.mcr-view .mark.ok{color:#1a7f37}
.mcr-view .mark.bad{color:#cf222e}
.mcr-view .legend ul{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:4px 18px;font-size:14px}
.mcr-view .legend-item{cursor:pointer;padding:1px 4px;border-radius:3px}
.mcr-view .legend-item.hl{background:#eee;outline:1px solid #bbb}
.mcr-view .swatch{display:inline-block;width:12px;height:12px;border-radius:2px;background:var(--c);margin-right:5px;vertical-align:-1px}
.mcr-view .key{font-size:13px;color:#555}
.mcr-view .key line{stroke:#444;stroke-width:3}
.mcr-view .key .k-dashed{stroke-dasharray:7 4}
.mcr-view .key .k-thin{stroke-width:1.5}
.mcr-view .mentions-table{margin-top:10px;font-size:13px}
.mcr-view table{border-collapse:collapse}
.mcr-view td,.mcr-view th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left}
.mcr-view tr.hl{background:#fff6c9}
.mcr-view tr.missed{color:#888}
"""

# The root id is substituted in; everything is scoped to the view's element.
_JS = r"""
(function(){
var root=document.getElementById("__ROOT__");if(!root)return;
var pinned=null;
function all(sel){return Array.prototype.slice.call(root.querySelectorAll(sel));}
function q(attr,v){return all("["+attr+"~=\""+v+"\"]");}
function clear(){root.classList.remove("focusing");all(".hl,.sel").forEach(function(e){e.classList.remove("hl","sel");});}
function focus(el){
  clear();if(!el)return;
  var m=el.getAttribute("data-m"),c=el.getAttribute("data-c"),gc=el.getAttribute("data-gc");
  root.classList.add("focusing");
  if(c)q("data-c",c).forEach(function(e){e.classList.add("hl");});
  if(gc)q("data-gc",gc).forEach(function(e){e.classList.add("hl");});
  var own=el.classList.contains("mention")||el.tagName==="TR";
  if(m&&own)m.split(" ").forEach(function(id){q("data-m",id).forEach(function(e){e.classList.add("hl","sel");});});
}
function target(ev){var e=ev.target;while(e&&e!==root){if(e.classList&&(e.classList.contains("mention")||e.classList.contains("box")||e.classList.contains("legend-item")||e.tagName==="TR"&&e.hasAttribute("data-m")))return e;e=e.parentNode;}return null;}
root.addEventListener("mouseover",function(ev){var t=target(ev);if(t)focus(t);});
root.addEventListener("mouseout",function(ev){var t=target(ev);if(t&&!(ev.relatedTarget&&t.contains(ev.relatedTarget)))focus(pinned);});
root.addEventListener("click",function(ev){var t=target(ev);if(!t)return;ev.stopPropagation();pinned=(pinned===t)?null:t;focus(pinned);root.setAttribute("data-pinned",pinned?(pinned.getAttribute("data-m")||pinned.getAttribute("data-c")||""):"");});
root.addEventListener("focusin",function(ev){var t=target(ev);if(t)focus(t);});
root.addEventListener("keydown",function(ev){if(ev.key==="Enter"){var t=target(ev);if(t){pinned=t;focus(t);}}});
document.addEventListener("keydown",function(ev){if(ev.key==="Escape"){pinned=null;focus(null);}});
all("input[data-toggle]").forEach(function(cb){var f=function(){root.classList.toggle(cb.getAttribute("data-toggle"),cb.checked);};cb.addEventListener("change",f);f();});
})();
"""
