"""`python -m mcr_spacy convert-cin`: CIN annotations + region features to `.spacy`."""
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..convert.cin import convert_cin, print_examples
from ..errors import MultimodalCorefError
from ._util import GOLD_MENTIONS_KEY_OPTION, LANG_OPTION, SPAN_CLUSTER_PREFIX_OPTION, app, guard_outputs


@app.command("convert-cin")
def convert_cin_cli(
    data_dir: Path = typer.Argument(..., help="CIN data folder (with cin_annotations/ and faster_rcnn_image_features/)."),
    out_dir: Path = typer.Argument(..., help="Output folder: one SPLIT.spacy per split (written atomically)."),
    splits: str = typer.Option("val,test", "--splits", help="Comma-separated splits to convert."),
    lang: str = LANG_OPTION,
    strict: bool = typer.Option(False, "--strict", help="Stop at the first mention that cannot be kept, instead of skipping and reporting it."),
    features: bool = typer.Option(True, "--features/--no-features", help="Attach the detected regions (off: text-only docs)."),
    feature_width: Optional[int] = typer.Option(None, "--feature-width", help="Refuse features of another width (e.g. 2048)."),
    allow_missing_regions: bool = typer.Option(False, "--allow-missing-regions", help="Keep images without region features as text-only docs instead of failing."),
    span_cluster_prefix: str = SPAN_CLUSTER_PREFIX_OPTION,
    mentions_key: str = GOLD_MENTIONS_KEY_OPTION,
) -> None:
    """Convert the CIN annotations and their MAF region features to .spacy files.

    DATA_DIR/cin_annotations/testval_annotations.json is a JSON list of records
    {"image": Flickr30k id, "captions": narration, "split": "val"|"test",
    "img_width", "img_height", "query": [mention strings], "query_start_end":
    [[start, end), ...] character offsets into "captions", "cluster": [chain id
    per mention], "target_bboxes": [[[x, y, w, h], ...] per mention] in percent
    of the image size}. val_image_ids.json / test_image_ids.json next to it give
    the split of records without "split".

    Regions: DATA_DIR/faster_rcnn_image_features/{split}_features_compress.hdf5
    (datasets "features" [total, D], "pos_bboxes" [n_images, 2]), {split}_imgid2idx.pkl
    (int image id -> row of pos_bboxes) and {split}_detection_dict.json (image id ->
    {"bboxes": [[x1, y1, x2, y2] px], "classes": [...]}); every split's files are
    searched for each image, its own split first. Only each image's rows are read.

    Each record becomes a doc: gold chains in doc.spans['PREFIX_i'] (singletons
    too), gold mentions in doc.spans[KEY], gold boxes as span._.grounding =
    {"boxes": [[x1, y1, x2, y2], ...]} in pixels, regions in doc._.image_regions.
    Mentions whose offsets do not fall on tokens (after trimming whitespace) are
    skipped and reported, or stop the conversion with --strict. On any error
    nothing is written.
    """
    wanted = [s.strip() for s in splits.split(",") if s.strip()]
    guard_outputs([out_dir / f"{split}.spacy" for split in wanted], [data_dir])
    try:
        reports = convert_cin(
            data_dir,
            out_dir,
            splits=wanted,
            lang=lang,
            strict=strict,
            use_features=features,
            feature_width=feature_width,
            allow_missing_regions=allow_missing_regions,
            span_cluster_prefix=span_cluster_prefix,
            mentions_key=mentions_key,
        )
    except MultimodalCorefError as err:
        msg.fail("Conversion failed, nothing written", str(err), exits=1)
    for split, report in reports.items():
        report.print()
        print_examples(report)
        msg.good(f"Wrote {report.kept['docs']} docs to {out_dir / (split + '.spacy')}")
