"""`python -m mcr_spacy convert-ln`: unlabelled narrations + regions to `.spacy`."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..convert.ln import convert_ln
from ..errors import MultimodalCorefError
from ._util import LANG_OPTION, app, guard_outputs


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
    trace boxes in flk30k_LN_trace_box/<id>.npy, [T, 5] normalised
    [x1, y1, x2, y2, area], go to doc._.trace_boxes.

    Localized Narratives JSONL: one object per line with "image_id", "caption",
    "timed_caption" [{"utterance", "start_time", "end_time"}] and "traces"
    [[{"x", "y", "t"}]] (normalised); doc._.trace_boxes gets one box per utterance.

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
