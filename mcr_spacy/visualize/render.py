"""A self-contained HTML view of coreference clusters and their grounding.

`render(doc, image)` returns one HTML page (or fragment) with the narration,
every mention highlighted in its cluster's colour, and the image with each
cluster's grounded box and refined box drawn in the same colour. Hovering or
clicking a mention highlights its box and the rest of its cluster. Given a
gold reference doc, the gold clusters and boxes are shown beside the
predictions and each predicted mention is marked right or wrong. Everything
is inlined: the page loads nothing from the network.

This module is the entry point: `build_view` reads the docs into a `View`
(`view_model`, `compare`, `images`) and `render` writes it out (`markup`,
`svg`, the files in `templates/`).
"""
import itertools
import math
from typing import Any, Dict, Optional, Tuple

from spacy.tokens import Doc

from ..annotation.extensions import DEFAULT_CLUSTER_PREFIX
from ..annotation.gold import DEFAULT_MENTIONS_KEY, doc_name
from ..errors import AlignmentError, DataFormatError, Errors
from .compare import grade_boxes, mark_boxes, mark_clusters, match_colours, view_scores
from .formatting import esc, read_template
from .images import ImageInput, image_data_uri
from .markup import render_view
from .view_model import Side, View, all_boxes, collect_side

DEFAULT_CANVAS = (640.0, 480.0)
_view_counter = itertools.count(1)


def render(
    doc: Doc,
    image: ImageInput = None,
    *,
    show_regions: bool = False,
    page: bool = True,
    **view_options: Any,
) -> str:
    """Render the predicted clusters and groundings of `doc` as HTML.

    doc (Doc): clusters in `doc.spans["{prefix}_{i}"]`, mentions in
        `doc.spans[mentions_key]`, `span._.grounding` dicts on the mentions and
        `attrs["grounding"]` on the cluster groups.
    image: path to an image file, the file's bytes, a numpy uint8 array
        (H x W, H x W x 3 or H x W x 4), or None for a blank canvas.
    show_regions (bool): show the detected regions when the page opens.
    page (bool): a whole HTML page (True) or a fragment to embed (False), e.g.
        in a notebook with `IPython.display.HTML`; each fragment has its own id.
    view_options: the keyword arguments of `build_view`: `prefix`,
        `mentions_key`, `gold` (a reference doc shown beside the predictions),
        `gold_prefix`, `gold_mentions_key`, `image_size`, `title`.
    RETURNS (str): the HTML.
    """
    view = build_view(doc, image, **view_options)
    if page:
        view.uid = "mcr-view"  # one view per page: the same input gives the same page
    body = render_view(view, show_regions=show_regions)
    css = read_template("view.css")
    if not page:
        return f"<style>\n{css}</style>\n{body}"
    return read_template("page.html").format(title=esc(view.title), css=css, body=body)


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
    """Collect what `render` draws: mentions, clusters, boxes and marks.

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
    RETURNS (View): what the page shows.
    """
    if gold is not None and gold.text != doc.text:
        raise AlignmentError(Errors.E500.format(gold=doc_name(gold), doc=doc_name(doc)))
    pred = collect_side(doc, "pred", prefix, mentions_key)
    pred_boxes = grade_boxes(pred, doc, prefix, mentions_key)
    gold_side = None
    scores: Dict[str, Optional[float]] = {}
    if gold is not None:
        gold_side = collect_side(gold, "gold", gold_prefix or prefix, gold_mentions_key)
        match_colours(pred, gold_side)
        mark_clusters(pred, gold_side)
        grounding_acc = mark_boxes(pred, pred_boxes, gold, gold_prefix or prefix, gold_mentions_key)
        scores = view_scores(pred, gold_side, grounding_acc)
    regions = doc._.image_regions if doc.has_extension("image_regions") else None
    image_uri, own_size = (None, None) if image is None else image_data_uri(image)
    size, note = _canvas_size(image_size, regions, own_size, pred, gold_side)
    if title is None:
        if regions is not None and regions.image_id is not None:
            title = f"Image {regions.image_id}"
        else:
            title = doc.text[:60] + ("…" if len(doc.text) > 60 else "") or "Empty doc"
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


def _canvas_size(
    image_size: Optional[Tuple[float, float]],
    regions: Any,
    own_size: Optional[Tuple[int, int]],
    pred: Side,
    gold: Optional[Side],
) -> Tuple[Tuple[float, float], str]:
    """The `(width, height)` the boxes are drawn in, and a note when it is a guess."""
    if image_size is not None:
        w, h = float(image_size[0]), float(image_size[1])
        if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
            raise DataFormatError(Errors.E504.format(value=image_size))
        return (w, h), ""
    if regions is not None:
        return tuple(regions.image_size), ""
    if own_size is not None:
        return (float(own_size[0]), float(own_size[1])), ""
    boxes = [b for side in (pred, gold) if side is not None for b in all_boxes(side)]
    if boxes:
        w = max(b[2] for b in boxes) + 1
        h = max(b[3] for b in boxes) + 1
        return (max(w, 1.0), max(h, 1.0)), "image size unknown: canvas fitted to the boxes"
    return DEFAULT_CANVAS, "image size unknown"
