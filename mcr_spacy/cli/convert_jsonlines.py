"""`python -m mcr_spacy convert-jsonlines`: e2e-coref jsonlines to `.spacy`."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..convert.jsonlines import convert_jsonlines
from ..errors import MultimodalCorefError
from ._util import GOLD_MENTIONS_KEY_OPTION, LANG_OPTION, SPAN_CLUSTER_PREFIX_OPTION, app, guard_outputs


@app.command("convert-jsonlines")
def convert_jsonlines_cli(
    input_path: Path = typer.Argument(..., help="Input .jsonlines file, one JSON document per line."),
    output_path: Path = typer.Argument(..., help="Output .spacy file (written atomically)."),
    lang: str = LANG_OPTION,
    span_cluster_prefix: str = SPAN_CLUSTER_PREFIX_OPTION,
    mentions_key: str = GOLD_MENTIONS_KEY_OPTION,
    regions: Optional[Path] = typer.Option(
        None, "--regions", exists=True, file_okay=False,
        help="Folder written by extract-regions: each record gets the regions of its image_file.",
    ),
) -> None:
    """Convert an e2e-coref jsonlines file to a .spacy corpus.

    Each line is a JSON object: "doc_key" (a name), "sentences" (a list of
    sentences, each a list of tokens) and "clusters" (a list of clusters, each
    a list of [start, end] token spans, both ends inclusive, counted from 0
    over the whole document). Docs keep the given tokens (one space between
    them) and sentences; every cluster becomes doc.spans['PREFIX_i'] and every
    mention is also in doc.spans[KEY]. A record without "clusters" becomes an
    unlabelled doc. Subword files (wordpieces with [CLS]/[SEP], "subtoken_map"
    and "sentence_map", as prepared for SpanBERT-style models) are merged back
    into words.

    Image fields, as in VisPro: "object_detection" (COCO class ids 1-90, or
    class names) becomes label-only doc._.image_regions, one region per
    detection labelled with its COCO class name; without boxes, each region's
    box is the whole image, of size "img_width" x "img_height" when given,
    else a nominal 1 x 1. The image id is "image_file" without folder and
    extension (or "image_id"). Other fields (speakers, pronoun_info, ...) are
    counted as not converted. With --regions, each record gets instead the
    regions that extract-regions wrote for its image (boxes, COCO labels,
    features), found by "image_file" without folder and extension.
    """
    guard_outputs([output_path], [input_path])
    try:
        report = convert_jsonlines(
            input_path, output_path, lang=lang, span_cluster_prefix=span_cluster_prefix, mentions_key=mentions_key,
            regions_dir=regions,
        )
    except MultimodalCorefError as err:
        msg.fail("Conversion failed, nothing written", str(err), exits=1)
    report.print()
    msg.good(f"Wrote {report.kept['docs']} docs to {output_path}")
