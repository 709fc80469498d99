"""`python -m mcr_spacy extract-regions`: detected regions and their features
for a folder of images, in the files that convert-cin reads."""
from pathlib import Path
from typing import Dict, List

import typer
from wasabi import msg

from ..convert.common import ConversionReport, normalize_image_id
from ..errors import Errors, ImageError, MultimodalCorefError
from ._util import app

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")


def list_images(images_dir: Path) -> Dict[str, Path]:
    """Image id (file name without extension) -> path, for every image file of
    a folder, sorted by id; refuses two files with the same id."""
    if not images_dir.is_dir():
        raise ImageError(Errors.E815.format(what="IMAGES_DIR", path=images_dir))
    found: Dict[str, Path] = {}
    for path in sorted(images_dir.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        image_id = normalize_image_id(path.stem)
        if image_id in found:
            raise ImageError(Errors.E817.format(first=found[image_id].name, second=path.name, path=images_dir, image_id=image_id))
        found[image_id] = path
    if not found:
        raise ImageError(Errors.E816.format(suffixes=", ".join(IMAGE_SUFFIXES), path=images_dir))
    return dict(sorted(found.items()))


@app.command("extract-regions")
def extract_regions_cli(
    images_dir: Path = typer.Argument(..., help="Folder of images (JPEG, PNG, ...); the file name without extension is the image id."),
    out_dir: Path = typer.Argument(..., help="Output folder: faster_rcnn_image_features/ of a CIN data folder, or any folder for convert-jsonlines --regions."),
    split: str = typer.Option("val", "--split", "-s", help="Split name in the file names (SPLIT_features_compress.hdf5, ...)."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", min=1, help="Images detected and encoded together."),
    min_score: float = typer.Option(0.2, "--min-score", help="Keep detections at least this confident."),
    max_detections: int = typer.Option(35, "--max-detections", min=0, help="Detections kept per image (plus the whole-image region)."),
    threads: int = typer.Option(1, "--threads", help="CPU threads for torch and OpenCV (0: their defaults)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace region files of the same split in OUT_DIR."),
) -> None:
    """Detect regions in a folder of images and write their features in the
    MAF / CIN layout: OUT_DIR/SPLIT_features_compress.hdf5 ("features"
    [total, 1280], "pos_bboxes" [n_images, 2], "bboxes"), SPLIT_imgid2idx.pkl
    (image id -> row of pos_bboxes) and SPLIT_detection_dict.json (image id ->
    {"bboxes": [[x1, y1, x2, y2] px], "classes": COCO names, "scores",
    "image_w", "image_h"}).

    Regions come from the default extractor: SSD-MobileNet-v2 (COCO) boxes
    plus one whole-image region, each pooled from one EfficientNet-lite0 pass
    over the image (RoI align); all offline, on the CPU. With the Flickr30k
    images and the CIN annotations, point OUT_DIR at
    DATA_DIR/faster_rcnn_image_features and run convert-cin DATA_DIR: the
    model trains on these features instead of the MAF download. For VisPro-style
    jsonlines, convert-jsonlines --regions OUT_DIR attaches them by image_file.
    Images that cannot be read are reported and skipped; the files are
    written only when every image is done.
    """
    from ..vision.encoder import EfficientNetRegionEncoder
    from ..vision.detector import SSDMobileNetDetector
    from ..vision.extractor import RegionExtractor
    from ..vision.store import RegionFileWriter, split_files
    from ..vision.threads import set_threads

    try:
        images = list_images(images_dir)
        existing = [p.name for p in split_files(out_dir, split) if p.exists()]
        if existing and not overwrite:
            raise ImageError(Errors.E818.format(path=out_dir, split=split, files=", ".join(existing)))
        set_threads(threads)
        extractor = RegionExtractor(
            SSDMobileNetDetector(min_score=min_score, max_detections=max_detections), EfficientNetRegionEncoder()
        )
        report = ConversionReport(f"extract-regions {images_dir.name}")
        failures: List[str] = []
        ids = list(images)
        with RegionFileWriter(out_dir, split, extractor.feature_width, extractor.name) as writer:
            with typer.progressbar(length=len(ids), label="Extracting regions") as progress:
                for start in range(0, len(ids), batch_size):
                    batch = ids[start:start + batch_size]
                    loaded, kept = [], []
                    for image_id in batch:
                        try:
                            loaded.append(extractor.read(images[image_id], name=str(images[image_id])))
                            kept.append(image_id)
                        except ImageError as err:
                            report.skip("unreadable images")
                            failures.append(str(err))
                    for regions in extractor(loaded, kept):
                        writer.add(regions)
                        report.keep("images")
                        report.keep("regions", len(regions))
                    progress.update(len(batch))
            if not len(writer):
                raise ImageError(Errors.E819.format(n_images=len(ids), path=images_dir))
            paths = writer.commit()
    except MultimodalCorefError as err:
        msg.fail("Region extraction failed, nothing written", str(err), exits=1)
    report.print()
    for failure in failures:
        msg.warn(failure)
    msg.good(f"Wrote regions of {report.kept['images']} images ({extractor.name}) to {out_dir}", ", ".join(p.name for p in paths))
