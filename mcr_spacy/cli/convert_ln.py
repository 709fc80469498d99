"""`python -m mcr_spacy convert-ln`: unlabelled narrations + regions to `.spacy`."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

import spacy

from ..convert.ln import convert_ln
from ..convert.traces import attach_traces, shuffle_traces
from ..errors import MultimodalCorefError
from ..training.io import write_docbin
from ._util import LANG_OPTION, app, guard_outputs, read_corpus_or_exit


@app.command("convert-ln")
def convert_ln_cli(
    data_dir: Path = typer.Argument(..., help="Folder with flk30k_LN.json + flk30k_LN_label.h5, or with Localized Narratives .jsonl files (or one such file)."),
    output_path: Path = typer.Argument(..., help="Output .spacy file (written atomically)."),
    split: str = typer.Option("train", "--split", help="Split of flk30k_LN.json to read, and of the region feature files."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Convert at most N narrations."),
    lang: str = LANG_OPTION,
    features: bool = typer.Option(True, "--features/--no-features", help="Attach the detected regions (off: text-only docs)."),
    features_dir: Optional[Path] = typer.Option(None, "--features-dir", help="Folder of the feature files (default: DATA_DIR/faster_rcnn_image_features)."),
    feature_width: Optional[int] = typer.Option(None, "--feature-width", help="Refuse features of another width (e.g. 2048)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on a narration whose image has no features, instead of skipping and reporting it."),
) -> None:
    """Convert unlabelled image narrations with their regions to a .spacy file.

    flk30k_LN format: flk30k_LN.json = {"ix_to_word": {"1": word, ...},
    "images": [{"id", "split", "width"?, "height"?}, ...]}; flk30k_LN_label.h5 with
    "labels" [n_captions, length] word ids (0 = padding) and "label_start_ix" /
    "label_end_ix" [n_images] (1-based, inclusive caption rows of each image);
    mouse traces in flk30k_LN_trace_box/<id>.npy, [T, 5] normalised
    [x1, y1, x2, y2, area], one row per word of the narration.

    Localized Narratives JSONL: one object per line with "image_id", "caption",
    "timed_caption" [{"utterance", "start_time", "end_time"}] and "traces"
    [[{"x", "y", "t"}]] (normalised x, y; t in seconds): an utterance's box is
    the extent of the trace points between its start and end time, and the
    utterances are found in the caption in order.

    Both give the same doc._.trace_boxes: float32 [n_tokens, 5], one normalised
    [x1, y1, x2, y2, area] box per token (the box of the word or utterance the
    token belongs to; zeros for tokens without one, e.g. punctuation).

    Regions: faster_rcnn_image_features/SPLIT_features_compress.hdf5 with
    SPLIT_imgid2idx.pkl and SPLIT_detection_dict.json (only each image's rows are
    read); the image size comes from "width"/"height" of flk30k_LN.json, else from
    the detections. Narrations whose image has no features are skipped and
    counted (an error with --strict). Docs carry no gold annotation.
    """
    guard_outputs([output_path], [data_dir, features_dir])
    try:
        report = convert_ln(
            data_dir,
            output_path,
            split=split,
            limit=limit,
            lang=lang,
            use_features=features,
            features_dir=features_dir,
            feature_width=feature_width,
            strict=strict,
        )
    except MultimodalCorefError as err:
        msg.fail("Conversion failed, nothing written", str(err), exits=1)
    report.print()
    msg.good(f"Wrote {report.kept['docs']} docs to {output_path}")


@app.command("attach-traces")
def attach_traces_cli(
    input_path: Path = typer.Argument(..., help="A .spacy file (or folder of them) whose docs have doc._.image_regions with an image_id (e.g. from convert-cin)."),
    trace_dir: Path = typer.Argument(..., help="Folder of per-word trace files <image id>.npy (flk30k_LN_trace_box)."),
    output_path: Path = typer.Argument(..., help="Output .spacy file: the same docs with doc._.trace_boxes set (written atomically)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on a trace with fewer word boxes than its narration has words, instead of skipping and reporting it."),
) -> None:
    """Attach the narrators' mouse traces to converted docs by image id.

    TRACE_DIR/<image id>.npy holds [T, 5] normalised [x1, y1, x2, y2, area]
    boxes, one per word of the narration as flk30k_LN splits it (lower case,
    punctuation dropped). Each token of the doc gets the box of its word:
    doc._.trace_boxes = float32 [n_tokens, 5] (zeros for tokens without a
    word), replacing any traces the doc had. Docs without an image id or a
    trace file are counted and keep none.
    """
    guard_outputs([output_path], [input_path, trace_dir])
    docs = read_corpus_or_exit(input_path, spacy.blank("en").vocab)
    try:
        report = attach_traces(docs, trace_dir, strict=strict)
    except MultimodalCorefError as err:
        msg.fail("Attaching traces failed, nothing written", str(err), exits=1)
    write_docbin(docs, output_path)
    report.print()
    msg.good(f"Wrote {len(docs)} docs to {output_path}")


@app.command("shuffle-traces")
def shuffle_traces_cli(
    input_path: Path = typer.Argument(..., help="A .spacy file (or folder of them) with doc._.trace_boxes."),
    output_path: Path = typer.Argument(..., help="Output .spacy file (written atomically)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the shuffle."),
) -> None:
    """Turn each doc's mouse trace into pure noise (a control for ablations):
    its per-token boxes in a random order, so the pointer still rests on
    things in the image but not on what the words name."""
    guard_outputs([output_path], [input_path])
    docs = read_corpus_or_exit(input_path, spacy.blank("en").vocab)
    report = shuffle_traces(docs, seed)
    write_docbin(docs, output_path)
    report.print()
    msg.good(f"Wrote {len(docs)} docs to {output_path}")
