"""The image panel of the view as SVG: the image (or a blank canvas), the
detected regions, each cluster's grounded and refined boxes, the mentions' own
boxes, and the gold boxes, with labels."""
from typing import Dict, List, Optional, Sequence, Tuple

from .formatting import box_text, esc, fmt, short
from .view_model import MUTED, Cluster, Mention, Side, View


def render_svg(view: View, side: Side) -> str:
    """The SVG canvas of one side of the view."""
    w, h = view.size
    scale = max(w, h)
    font = max(scale / 36.0, 1.0)
    out = [
        f'<svg class="canvas-svg" data-side="{side.name}" viewBox="0 0 {fmt(w)} {fmt(h)}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" '
        f'style="--label-size:{font:.1f}px" role="img" aria-label="{esc(side.name)} boxes">'
    ]
    if view.image_uri is not None and side.name == "pred":
        out.append(
            f'<image id="{view.uid}-image" href="{view.image_uri}" x="0" y="0" width="{fmt(w)}" '
            f'height="{fmt(h)}" preserveAspectRatio="none"/>'
        )
    elif view.image_uri is not None:  # the gold panel reuses the predicted panel's image
        out.append(f'<use href="#{view.uid}-image"/>')
    else:
        out.append(f'<rect class="blank" x="0" y="0" width="{fmt(w)}" height="{fmt(h)}"/>')
    if side.name == "pred" and view.regions is not None:
        out.append('<g class="regions">')
        labels = view.regions.labels
        for i, box in enumerate(view.regions.boxes.tolist()):
            tip = f"region {i}" + (f": {labels[i]}" if labels else "")
            out.append(f'<rect class="region" data-region="{i}" {_rect_attrs(box)}><title>{esc(tip)}</title></rect>')
        out.append("</g>")
    labels_out: List[str] = []
    if side.name == "pred":
        out.extend(_predicted_boxes(view, side, labels_out, font))
    else:
        out.extend(_gold_boxes(side, labels_out, font))
    out.append('<g class="labels">' + "".join(labels_out) + "</g>")
    out.append("</svg>")
    return "".join(out)


def _predicted_boxes(view: View, side: Side, labels_out: List[str], font: float) -> List[str]:
    out = []
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
            tip = f"{m.text}: {'refined box' if refined else 'box'} {box_text(box)}"
            mention_rects.append((
                -_area(box),
                f'<rect class="{cls}" data-m="{m.mid}" data-c="{m.cluster.cid if m.cluster else ""}" '
                f'style="--c:{m.cluster.colour if m.cluster else MUTED}" {_rect_attrs(box)}>'
                f"<title>{esc(tip)}</title></rect>",
            ))
    out.extend(r for _, r in sorted(mention_rects, key=lambda t: t[0]))
    return out


def _gold_boxes(side: Side, labels_out: List[str], font: float) -> List[str]:
    out = []
    for c in side.clusters:
        seen: Dict[Tuple[float, ...], List[Mention]] = {}
        for m in c.mentions:
            for gb in m.gold_boxes or []:
                seen.setdefault(tuple(gb), []).append(m)
        for gb, ms in sorted(seen.items(), key=lambda kv: -_area(list(kv[0]))):
            cls = "box box-gold" + (" singleton" if c.singleton else "")
            mids = " ".join(m.mid for m in ms)
            tip = f"{c.label}: {', '.join(m.text for m in ms)} {box_text(list(gb))}"
            out.append(
                f'<rect class="{cls}" data-m="{mids}" data-gc="{c.cid}" style="--c:{c.colour}" '
                f'{_rect_attrs(list(gb))}><title>{esc(tip)}</title></rect>'
            )
            text = short(ms[0].text) if c.singleton else f"{c.label} {short(ms[0].text)}"
            labels_out.append(_label(list(gb), text, c, font, f'data-gc="{c.cid}" data-m="{mids}"'))
    return out


def _area(box: Optional[Sequence[float]]) -> float:
    if box is None:
        return 0.0
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _rect_attrs(box: Sequence[float]) -> str:
    x1, y1, x2, y2 = box
    return (
        f'x="{fmt(x1)}" y="{fmt(y1)}" width="{fmt(max(x2 - x1, 1.0))}" '
        f'height="{fmt(max(y2 - y1, 1.0))}"'
    )


def _cluster_boxes(view: View, c: Cluster, labels_out: List[str], font: float) -> List[str]:
    out = []
    extra = " singleton" if c.singleton else ""
    name = c.label if not c.singleton else short(c.mentions[0].text)
    first = short(c.mentions[0].text) if c.mentions else ""
    region = ""
    if c.region is not None and view.regions is not None and view.regions.labels and 0 <= c.region < len(view.regions):
        region = f" (region {c.region}: {view.regions.labels[c.region]})"
    elif c.region is not None:
        region = f" (region {c.region})"
    score = f", score {c.score:.2f}" if c.score is not None else ""
    if c.box is not None:
        tip = f"{name}: {', '.join(m.text for m in c.mentions)}{region}{score} box {box_text(c.box)}"
        out.append(
            f'<rect class="box box-cluster{extra}" data-c="{c.cid}" style="--c:{c.colour}" '
            f'{_rect_attrs(c.box)}><title>{esc(tip)}</title></rect>'
        )
        text = name if c.singleton else f"{name} {first}"
        labels_out.append(_label(c.box, text, c, font, f'data-c="{c.cid}"'))
    if c.refined_box is not None:
        tip = f"{name}: refined box {box_text(c.refined_box)}"
        out.append(
            f'<rect class="box box-cluster box-refined{extra}" data-c="{c.cid}" '
            f'style="--c:{c.colour}" {_rect_attrs(c.refined_box)}><title>{esc(tip)}</title></rect>'
        )
        if c.box is None:
            labels_out.append(_label(c.refined_box, f"{name} (refined)", c, font, f'data-c="{c.cid}"'))
    return out


def _label(box: Sequence[float], text: str, c: Cluster, font: float, data: str) -> str:
    x = box[0] + font * 0.2
    y = box[1] + font * 0.95
    extra = " singleton" if c.singleton else ""
    return (
        f'<text class="box-label{extra}" {data} x="{fmt(x)}" y="{fmt(y)}" style="--c:{c.colour}">'
        f"{esc(text)}</text>"
    )
