"""`python -m mcr_spacy visualize`: HTML pages of a pipeline's predictions."""
import html
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import typer
from spacy.language import Language
from spacy.tokens import Doc
from wasabi import msg

from ..training.io import write_bytes_atomic
from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY, PREDICTED_MENTIONS_KEY
from ..annotation.gold import doc_name
from ..annotation.clusters import get_clusters
from ..scoring.metrics import coref_metrics, grounding_accuracy
from ..scoring.scorer import gold_from_doc, predictions_from_doc
from ..training.examples import make_predicted_doc
from ..visualize.render import render
from ..errors import MultimodalCorefError
from ._util import app, format_percent, guard_outputs, load_pipeline_or_exit, read_corpus_or_exit

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


@app.command("visualize")
def visualize_cli(
    model: str = typer.Argument(..., help="Pipeline to load with spacy.load (a package name or a directory)."),
    data_path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="Reference docs (.spacy DocBin, saved with store_user_data=True)."
    ),
    output_dir: Path = typer.Argument(..., file_okay=False, help="Folder for index.html and one page per doc."),
    images: Optional[Path] = typer.Option(
        None, "--images", "-i", exists=True, file_okay=False,
        help="Folder of images named <image id>.jpg / .jpeg / .png.",
    ),
    limit: int = typer.Option(0, "--limit", "-n", min=0, help="Render at most this many docs (0: all)."),
    gold_mentions: bool = typer.Option(
        False, "--gold-mentions", "-G",
        help=f"Give the gold mentions to the pipeline in doc.spans['{GOLD_MENTIONS_KEY}'] (the paper's protocol).",
    ),
    span_cluster_prefix: str = typer.Option(
        CLUSTER_PREFIX, "--span-cluster-prefix", "--prefix",
        help="Prefix of the cluster keys in doc.spans (--prefix is its old name).",
    ),
    mentions_key: str = typer.Option(PREDICTED_MENTIONS_KEY, "--mentions-key", help="Key of the predicted mentions."),
) -> None:
    """Write HTML pages of a pipeline's clusters and groundings, with an index.

    Predicts on the reference docs in DATA_PATH and writes one self-contained
    page per doc (the narration with its clusters, the boxes over the image,
    gold beside the predictions) and OUTPUT_DIR/index.html linking them with
    per-doc scores (MUC, B3, CoNLL F1, grounding accuracy).

    DATA_PATH is a DocBin (.spacy, store_user_data=True) of reference docs as the
    converters write them: gold clusters in doc.spans["<PREFIX>_1"], ...; gold
    mentions in doc.spans["mentions"]; gold boxes as span._.grounding["boxes"]
    (a list of x1, y1, x2, y2 boxes in pixels); regions in doc._.image_regions. The
    pipeline sees only the text, the regions and (with --gold-mentions) every
    gold mention: those of the gold clusters and of doc.spans["mentions"].
    Images are looked up as IMAGES/<image id>.jpg (or .jpeg, .png); docs
    without one are drawn on a blank canvas of the image size.
    """
    guard_outputs([output_dir], [model, data_path, images])
    nlp = load_pipeline_or_exit(model)
    references = read_corpus_or_exit(data_path, nlp.vocab, limit=limit, what="Reference data")
    if not references:
        msg.warn(f"No docs in {data_path}: nothing to render.")
    predicted = list(nlp.pipe(prepare_docs(nlp, references, gold_mentions, span_cluster_prefix)))
    try:
        pages = write_pages(
            references, predicted, output_dir, images=images, span_cluster_prefix=span_cluster_prefix,
            mentions_key=mentions_key, title=f"{model} on {data_path.name}",
        )
    except MultimodalCorefError as err:  # e.g. an image file that is not an image
        msg.fail(str(err), exits=1)
    missing = sum(1 for p in pages if p["image"] is None)
    if images is not None and missing:
        msg.warn(f"{missing} of {len(pages)} docs have no image in {images}: drawn on a blank canvas.")
    msg.good(f"Wrote {len(pages)} pages and {output_dir / 'index.html'}")


def prepare_docs(
    nlp: Language, references: Sequence[Doc], gold_mentions: bool, span_cluster_prefix: str = CLUSTER_PREFIX
) -> List[Doc]:
    """Docs to predict on, one per reference (`make_predicted_doc`): the text,
    the regions and with `gold_mentions` the gold mentions in
    `doc.spans["mentions"]`."""
    return [
        make_predicted_doc(nlp, ref, gold_mentions=gold_mentions, span_cluster_prefix=span_cluster_prefix)
        for ref in references
    ]


def find_image(images: Optional[Path], image_id: Optional[str]) -> Optional[Path]:
    """`images/<image_id>.<jpg|jpeg|png>`, or None."""
    if images is None or not image_id:
        return None
    for suffix in IMAGE_SUFFIXES:
        path = images / f"{image_id}{suffix}"
        if path.is_file():
            return path
    return None


def write_pages(
    references: Sequence[Doc],
    predicted: Sequence[Doc],
    output_dir: Path,
    *,
    images: Optional[Path] = None,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = PREDICTED_MENTIONS_KEY,
    title: str = "Predictions",
) -> List[Dict[str, Any]]:
    """Write one page per (reference, predicted) pair and `index.html`; return
    one row per page (file name, image, scores)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    width = len(str(len(references)))
    for i, (ref, doc) in enumerate(zip(references, predicted), start=1):
        regions = ref._.image_regions
        image_id = regions.image_id if regions is not None else None
        image = find_image(images, image_id)
        name = f"{i:0{width}d}" + (f"_{_safe(image_id)}" if image_id else "") + ".html"
        scores = doc_scores(ref, doc, span_cluster_prefix=span_cluster_prefix, mentions_key=mentions_key)
        page = render(
            doc, image, prefix=span_cluster_prefix, mentions_key=mentions_key, gold=ref,
            title=f"{i}. " + (f"Image {image_id}" if image_id else doc_name(ref)),
        )
        page = page.replace(
            "<body>\n", '<body>\n<nav style="font:14px system-ui;margin:8px 12px"><a href="index.html">← all docs</a></nav>\n', 1
        )
        write_bytes_atomic(page.encode("utf8"), output_dir / name)
        rows.append({"file": name, "image": image, "image_id": image_id, "text": ref.text, "scores": scores,
                     "n_mentions": len(doc.spans[mentions_key]) if mentions_key in doc.spans else None,
                     "n_clusters": sum(1 for c in get_clusters(doc, span_cluster_prefix) if len(c) > 1)})
    write_bytes_atomic(render_index(rows, title).encode("utf8"), output_dir / "index.html")
    return rows


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))[:80]


def doc_scores(
    reference: Doc,
    predicted: Doc,
    *,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = PREDICTED_MENTIONS_KEY,
) -> Dict[str, Optional[float]]:
    """Per-doc MUC, B³ and CoNLL F1 and grounding accuracy, with the project's
    scorer (`mcr_spacy.scoring.metrics`)."""
    gold_clusters, gold_items = gold_from_doc(reference, span_cluster_prefix, GOLD_MENTIONS_KEY)
    pred_clusters, pred_boxes = predictions_from_doc(predicted, span_cluster_prefix, mentions_key)
    coref = coref_metrics([gold_clusters], [pred_clusters])
    grounding = grounding_accuracy([gold_items], [pred_boxes])
    return {
        "muc_f": coref["muc"]["f"] if gold_clusters else None,
        "b3_f": coref["b3"]["f"] if gold_clusters else None,
        "conll_f": coref["conll_f"] if gold_clusters else None,
        "grounding_acc": grounding["acc"],
    }


_SCORE_COLUMNS = (("muc_f", "MUC F1"), ("b3_f", "B³ F1"), ("conll_f", "CoNLL F1"), ("grounding_acc", "grounding acc."))


def render_index(rows: Sequence[Dict[str, Any]], title: str) -> str:
    """The index page: one row per doc with its scores and a link to its page."""
    esc = lambda v: html.escape(str(v), quote=True)  # noqa: E731
    head = "".join(f"<th>{esc(label)}</th>" for _, label in _SCORE_COLUMNS)
    body = []
    for row in rows:
        text = " ".join(row["text"].split())
        text = text if len(text) <= 110 else text[:109] + "…"
        cells = "".join(f"<td class=\"num\">{_pct(row['scores'].get(key))}</td>" for key, _ in _SCORE_COLUMNS)
        body.append(
            f'<tr><td><a href="{esc(row["file"])}">{esc(row["image_id"] or row["file"])}</a></td>'
            f"<td>{esc(text)}</td><td class=\"num\">{'' if row['n_mentions'] is None else row['n_mentions']}</td>"
            f"<td class=\"num\">{row['n_clusters']}</td>{cells}</tr>"
        )
    means = []
    for key, _ in _SCORE_COLUMNS:
        values = [r["scores"].get(key) for r in rows if r["scores"].get(key) is not None]
        means.append(f"<td class=\"num\">{_pct(sum(values) / len(values)) if values else ''}</td>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><style>{_INDEX_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p>{len(rows)} docs. Scores are per doc (the mean row averages them; "
        "corpus scores pooled over mentions come from <code>evaluate</code>). Click a doc to see it.</p>"
        f"<table><thead><tr><th>image</th><th>narration</th><th>mentions</th><th>clusters</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody><tfoot><tr><td colspan=\"4\">mean over docs</td>{''.join(means)}</tr></tfoot>"
        "</table></body></html>\n"
    )


def _pct(value: Optional[Any]) -> str:
    return format_percent(value, decimals=1, missing="")


_INDEX_CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:16px;color:#222}table{border-collapse:collapse}"
    "td,th{border-bottom:1px solid #e4e4e4;padding:3px 10px;text-align:left;vertical-align:top}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}tfoot td{font-weight:600}"
)
