"""`python -m mcr_spacy annotate`: clusters and boxes for photos with their
narrations, as JSONL and HTML views."""
import html
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import spacy
import typer
from wasabi import msg

from ..annotation.clusters import get_cluster_groups
from ..errors import Errors, ImageError, MultimodalCorefError
from ..pipeline.component import find_coref_component
from ..training.io import write_bytes_atomic
from ..visualize.render import render
from ._util import app, component_keys

RESULTS_FILE = "results.jsonl"
PAGES_FOLDER = "pages"


@app.command("annotate")
def annotate_cli(
    model: str = typer.Argument(..., help="Trained pipeline (a package name or a directory) with multimodal_coref."),
    input_path: Optional[Path] = typer.Argument(None, help="JSONL of {\"image\": path, \"text\": narration} records (paths relative to the file)."),
    out_dir: Optional[Path] = typer.Argument(None, help="Output folder: results.jsonl, index.html and pages/."),
    image: Optional[Path] = typer.Option(None, "--image", help="One image, with --text, instead of INPUT."),
    text: Optional[str] = typer.Option(None, "--text", help="The narration of --image."),
    mentions_from: Optional[str] = typer.Option(
        None, "--mentions-from",
        help="A pipeline with a parser (e.g. en_core_web_sm) whose noun chunks and pronouns are the mentions, "
        "for models that take their mentions from doc.spans (trained on gold mentions).",
    ),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Pairs processed together."),
    threads: int = typer.Option(1, "--threads", help="CPU threads for torch and OpenCV (0: their defaults)."),
) -> None:
    """Find the mentions of each narration, cluster them and ground them in
    its photo, with regions extracted offline from the photo.

    INPUT is a JSONL file with one {"image": path, "text": narration} object per
    line (or give one pair with --image and --text, and OUT_DIR as the second
    argument). The regions come from the extractor the pipeline was trained
    for: label-only COCO detections for a model trained on label-only regions
    (e.g. VisPro's), SSD-MobileNet-v2 boxes with EfficientNet-lite0 features
    otherwise; a model trained on regions of another width is refused.

    Writes OUT_DIR/results.jsonl (per record: its number, image, text, image
    size, mentions with character offsets, box, score, region and label, and
    clusters with their mentions, box and score), OUT_DIR/pages/*.html (the
    view of each pair) and OUT_DIR/index.html. A record with an unreadable
    image or without text is reported (record number, path, reason) and
    skipped; every file is written whole or not at all.
    """
    from ..vision.annotate import Pair, Problem, doc_result, mention_key, read_pairs, set_parser_mentions
    from ..vision.component import add_image_regions, make_image_doc
    from ..vision.threads import set_threads

    if out_dir is None and image is not None and input_path is not None:
        input_path, out_dir = None, input_path  # annotate MODEL OUT_DIR --image ... --text ...
    if (input_path is None) == (image is None) or out_dir is None or (image is not None and text is None):
        msg.fail(Errors.E821, exits=1)
    source = str(input_path) if input_path is not None else "--image/--text"
    if input_path is not None:
        items = list(read_pairs(input_path))
        if out_dir.resolve() == input_path.parent.resolve() and (out_dir / RESULTS_FILE).resolve() == input_path.resolve():
            msg.fail(f"{input_path} would be overwritten by the results: choose another OUT_DIR.", exits=1)
    else:
        items = [Pair(1, image, text) if text.strip() else Problem(1, str(image), "no text (--text is empty)")]
    try:
        nlp = spacy.load(model)
    except (OSError, ValueError, KeyError) as err:
        msg.fail(Errors.E702.format(model=model, error=err), exits=1)
    set_threads(threads)
    try:
        coref_name, _ = find_coref_component(nlp)
        if "image_regions" not in nlp.pipe_names:
            add_image_regions(nlp)
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    prefix, mentions_key = component_keys(nlp)
    given_key = mention_key(nlp, coref_name)
    parser = spacy.load(mentions_from) if mentions_from else None
    if given_key is not None and parser is None:
        msg.warn(f"The pipeline takes its mentions from doc.spans['{given_key}']: without --mentions-from "
                 f"(a pipeline with a parser, e.g. en_core_web_sm) it finds none.")
    extractor = nlp.get_pipe("image_regions").extractor
    problems: List[Problem] = [item for item in items if isinstance(item, Problem)]
    pairs = [item for item in items if isinstance(item, Pair)]
    results: List[Dict[str, Any]] = []
    pages: List[Dict[str, Any]] = []
    with typer.progressbar(length=len(pairs), label="Annotating") as progress:
        for start in range(0, len(pairs), batch_size):
            batch, docs = [], []
            for pair in pairs[start:start + batch_size]:
                try:
                    extractor.read(pair.image, name=repr(str(pair.image)))  # readable? (a few ms)
                except ImageError as err:
                    problems.append(Problem(pair.record, str(pair.image), str(err)))
                    continue
                batch.append(pair)
                docs.append(make_image_doc(nlp, pair.text, pair.image))
            if parser is not None and given_key is not None:
                set_parser_mentions(parser, docs, given_key)
            try:
                docs = list(nlp.pipe(docs, batch_size=batch_size))
            except MultimodalCorefError as err:
                msg.fail("Annotation failed, nothing written", str(err), exits=1)
            for pair, doc in zip(batch, docs):
                results.append(doc_result(doc, pair, prefix, mentions_key))
                pages.append(_page(doc, pair, len(pages) + 1, prefix, mentions_key))
            progress.update(len(pairs[start:start + batch_size]))
    problems.sort(key=lambda p: p.record)
    _write(out_dir, results, pages, problems, f"{model} on {source}")
    for problem in problems:
        msg.warn(problem.message(source))
    msg.good(f"Annotated {len(results)} of {len(results) + len(problems)} records: "
             f"{out_dir / RESULTS_FILE}, {out_dir / 'index.html'}" + (f"; skipped {len(problems)}" if problems else ""))


def _page(doc: Any, pair: Any, number: int, prefix: str, mentions_key: str) -> Dict[str, Any]:
    name = f"{number:04d}_{pair.image.stem[:60]}.html"
    view = render(doc, pair.image, prefix=prefix, mentions_key=mentions_key, title=f"{pair.record}. {pair.image.name}")
    return {"file": name, "html": view, "record": pair.record, "image": pair.image.name, "text": doc.text,
            "n_clusters": len(get_cluster_groups(doc, prefix))}


def _write(out_dir: Path, results: List[Dict[str, Any]], pages: List[Dict[str, Any]], problems: List[Any], title: str) -> None:
    """Every page, then the index, then the results: each file whole."""
    for page in pages:
        write_bytes_atomic(page["html"].encode("utf8"), out_dir / PAGES_FOLDER / page["file"])
    esc = html.escape
    rows = "".join(
        f'<tr><td>{p["record"]}</td><td><a href="{PAGES_FOLDER}/{esc(p["file"])}">{esc(p["image"])}</a></td>'
        f'<td>{esc(" ".join(p["text"].split())[:140])}</td><td>{p["n_clusters"]}</td></tr>'
        for p in pages
    )
    skipped = "".join(f"<li>record {p.record}: {esc(p.image or '')} {esc(p.reason)}</li>" for p in problems)
    index = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        "<style>body{font:14px/1.45 system-ui,sans-serif;margin:16px}td,th{padding:3px 10px;text-align:left;"
        "border-bottom:1px solid #ddd;vertical-align:top}</style></head><body>"
        f"<h1>{esc(title)}</h1><table><thead><tr><th>record</th><th>image</th><th>narration</th><th>clusters</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        + (f"<h2>Skipped</h2><ul>{skipped}</ul>" if skipped else "")
        + "</body></html>\n"
    )
    write_bytes_atomic(index.encode("utf8"), out_dir / "index.html")
    lines = "".join(json.dumps(result, ensure_ascii=False) + "\n" for result in results)
    write_bytes_atomic(lines.encode("utf8"), out_dir / RESULTS_FILE)
