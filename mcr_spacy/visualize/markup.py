"""The view model as HTML: the header with the per-doc scores, the controls,
one panel per side (image and narration), the legend and the mentions table."""
from typing import Dict, List, Optional

from ..defaults import IOU_THRESHOLD
from .formatting import box_text, esc, fmt, read_template, short
from .svg import render_svg
from .view_model import MUTED, Mention, Side, View

SCORE_NAMES = {
    "grounding_acc": "grounding accuracy",
    "mention_recall": "gold mentions found",
    "coref_right": "mentions clustered right",
}


def render_view(view: View, *, show_regions: bool) -> str:
    """The view's element (`<div class="mcr-view">`) with its script."""
    classes = ["mcr-view", "show-mention-boxes"]
    if show_regions:
        classes.append("show-regions")
    parts = [f'<div class="{" ".join(classes)}" id="{view.uid}">']
    parts.append(f"<header><h1>{esc(view.title)}</h1>{_render_meta(view)}</header>")
    parts.append(_render_controls(view, show_regions))
    panel_class = "panels with-gold" if view.gold is not None else "panels"
    parts.append(f'<div class="{panel_class}">')
    parts.append(_render_panel(view, view.pred, "Predicted"))
    if view.gold is not None:
        parts.append(_render_panel(view, view.gold, "Gold"))
    parts.append("</div>")
    parts.append(_render_legend(view))
    parts.append(_render_table(view))
    # the script is scoped to the view's element: its id is substituted in
    parts.append(f"<script>\n{read_template('view.js').replace('__ROOT__', view.uid)}</script>")
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
        f"canvas {fmt(view.size[0])}×{fmt(view.size[1])}",
    ]
    if view.regions is not None:
        items.append(f"{len(view.regions)} detected regions")
    if view.size_note:
        items.append(view.size_note)
    if view.image_uri is None:
        items.append("no image: boxes on a blank canvas")
    for key, value in view.scores.items():
        if value is not None:
            items.append(f'<span class="score" data-score="{key}">{SCORE_NAMES.get(key, key)} {value:.0%}</span>')
    return '<p class="meta">' + " · ".join(i if i.startswith("<span") else esc(i) for i in items) + "</p>"


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
            f'<label><input type="checkbox" data-toggle="{cls}"{" checked" if checked else ""}> {esc(label)}</label>'
        )
    out.append('<span class="hint">Hover or click a mention, a box or a legend entry; Esc clears.</span></div>')
    return "".join(out)


def _render_panel(view: View, side: Side, heading: str) -> str:
    return (
        f'<section class="panel panel-{side.name}"><h2>{esc(heading)}</h2>'
        f'<div class="panel-body"><figure class="image">{render_svg(view, side)}</figure>'
        f'<div class="narration" data-side="{side.name}">{_render_text(view, side)}</div></div></section>'
    )


def _render_text(view: View, side: Side) -> str:
    """The narration with nested mention spans; crossing mentions are split into
    fragments that share their data attributes."""
    text = view.text
    mentions = sorted(side.mentions.values(), key=lambda m: (m.start_char, -m.end_char))
    if not mentions:
        return f'<p>{esc(text) or "<em>(empty doc)</em>"}</p>'
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
                out.append(_close(m, side))
            stack = stack[:deepest]
            for m in reopen:
                out.append(_open(m, side, fragment=True))
                stack.append(m)
        for m in opens.get(pos, []):
            out.append(_open(m, side, fragment=False))
            stack.append(m)
        if nxt is not None:
            out.append(esc(text[pos:nxt]).replace("\n", "<br>"))
    for m in reversed(stack):
        out.append(_close(m, side))
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
        f'title="{esc(tip)}" tabindex="0">'
    )


def _rgba(colour: str, alpha: float) -> str:
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _mention_tip(m: Mention, side: Side) -> str:
    c = m.cluster
    bits = [m.text]
    if c is not None:
        bits.append(c.label if not c.singleton else "singleton")
    if side.name == "pred":
        if m.graded_box is not None:
            bits.append(f"box {box_text(m.graded_box)}")
        if m.score is not None:
            bits.append(f"score {m.score:.2f}")
        if m.coref_note:
            bits.append(m.coref_note)
        if m.box_ok is not None:
            iou = "no box" if m.best_iou is None else f"IoU {m.best_iou:.2f}"
            bits.append(f"box {'right' if m.box_ok else 'wrong'} ({iou})")
    else:
        if m.gold_boxes:
            bits.append("gold boxes " + " ".join(box_text(b) for b in m.gold_boxes))
        elif m.gold_boxes is not None:
            bits.append("no gold box")
    return " · ".join(bits)


def _close(m: Mention, side: Side) -> str:
    c = m.cluster
    tags = []
    if c is not None and not c.singleton:
        tags.append(f'<sup class="tag">{esc(c.label)}</sup>')
    if side.name == "pred":
        if m.coref_ok is not None:
            ok = "ok" if m.coref_ok else "bad"
            tags.append(f'<sup class="mark mark-coref {ok}" title="{esc(m.coref_note)}">{"✓" if m.coref_ok else "✗"}</sup>')
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
                grounding = f" · box {box_text(c.box)}"
                if c.score is not None:
                    grounding += f" ({c.score:.2f})"
            texts = ", ".join(short(m.text, 30) for m in c.mentions)
            out.append(
                f'<li class="legend-item" {attr} tabindex="0"><span class="swatch" style="--c:{c.colour}"></span>'
                f"<b>{esc(c.label)}</b> {esc(texts)}{esc(grounding)}</li>"
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
            esc(m.text),
            f"{m.start_char}–{m.end_char}",
            esc(c.label if c is not None and not c.singleton else "—"),
            esc(box_text(m.graded_box)),
            esc(box_text(m.refined_box if m.refined_box is not None else (c.refined_box if c and c.singleton else None))),
            "" if m.score is None else f"{m.score:.2f}",
        ]
        if gold is not None:
            g = m.gold
            cells += [
                esc("not gold" if g is None else (g.cluster.label if g.cluster and not g.cluster.singleton else "—")),
                esc("" if g is None or not g.gold_boxes else " ".join(box_text(b) for b in g.gold_boxes)),
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
            cells = [esc(g.text), f"{g.start_char}–{g.end_char}", "not predicted", "", "", ""]
            cells += [
                esc(g.cluster.label if g.cluster and not g.cluster.singleton else "—"),
                esc(" ".join(box_text(b) for b in g.gold_boxes or [])),
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
        + "".join(f"<th>{esc(h)}</th>" for h in head)
        + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></details>"
    )


def _mark_cell(ok: Optional[bool]) -> str:
    if ok is None:
        return ""
    return '<span class="mark ok">✓</span>' if ok else '<span class="mark bad">✗</span>'
