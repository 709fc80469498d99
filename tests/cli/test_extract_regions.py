"""extract-regions: a folder of images to the MAF / CIN region files that
convert-cin and convert-jsonlines --regions read."""
import json

import spacy
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401
from mcr_spacy.cli import app
from mcr_spacy.convert.cin import convert_cin
from mcr_spacy.convert.features import FeatureStores
from mcr_spacy.convert.jsonlines import convert_jsonlines
from mcr_spacy.training.io import read_corpus
from mcr_spacy.vision.store import split_files

from ..vision.fakes import save_noise_images


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def make_images(folder):
    sizes = {"1016887272.jpg": (120, 160, 3), "COCO_val2014_000000000042.png": (90, 60, 3)}
    save_noise_images(folder, sizes, broken=["broken.jpg"])
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_extract_regions_feeds_convert_cin_and_jsonlines(tmp_path):
    images = make_images(tmp_path / "images")
    features_dir = tmp_path / "data" / "faster_rcnn_image_features"
    result = run("extract-regions", images, features_dir, "--split", "val")
    assert result.exit_code == 0, result.output
    assert "broken.jpg" in result.output and "E802" in result.output
    assert all(path.is_file() for path in split_files(features_dir, "val"))
    detections = json.loads((features_dir / "val_detection_dict.json").read_text())
    assert sorted(detections) == ["1016887272", "COCO_val2014_000000000042"]
    assert detections["1016887272"]["image_w"] == 160 and detections["1016887272"]["classes"][0] == "image"
    with FeatureStores(tmp_path / "data") as stores:
        regions = stores.find("1016887272").get("1016887272")
    assert regions.feature_width == 1280 and regions.image_size == (160, 120)
    assert regions.extractor.startswith("mcr_spacy.ssd_mobilenet_v2_coco.v1")
    # convert-cin reads them as it reads the MAF files.
    annotations = tmp_path / "data" / "cin_annotations"
    annotations.mkdir()
    text = "A man stands on a rock. He smiles."
    record = {
        "image": "1016887272", "captions": text, "split": "val", "img_width": 160, "img_height": 120,
        "query": ["A man", "He"], "query_start_end": [[0, 5], [24, 26]], "cluster": [0, 0],
        "target_bboxes": [[[10, 10, 50, 80]], [[10, 10, 50, 80]]],
    }
    (annotations / "testval_annotations.json").write_text(json.dumps([record]))
    convert_cin(tmp_path / "data", tmp_path / "corpus", splits=["val"])
    doc = read_corpus(tmp_path / "corpus" / "val.spacy", spacy.blank("en").vocab)[0]
    assert doc._.image_regions == regions
    assert doc._.image_regions.extractor == regions.extractor
    # convert-jsonlines --regions attaches them by image_file.
    jsonl = tmp_path / "vispro.jsonlines"
    line = {"doc_key": "d1", "sentences": [["A", "cat", "."]], "clusters": [], "image_file": "COCO_val2014_000000000042.jpg", "object_detection": [17]}
    jsonl.write_text(json.dumps(line) + "\n")
    report = convert_jsonlines(jsonl, tmp_path / "vispro.spacy", regions_dir=features_dir)
    assert report.kept["docs with extracted regions"] == 1
    doc = read_corpus(tmp_path / "vispro.spacy", spacy.blank("en").vocab)[0]
    assert doc._.image_regions.feature_width == 1280 and doc._.image_regions.image_size == (60, 90)


def test_existing_files_are_kept_and_failures_write_nothing(tmp_path):
    images = make_images(tmp_path / "images")
    out = tmp_path / "out"
    assert run("extract-regions", images, out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = run("extract-regions", images, out)
    assert result.exit_code == 1 and "E818" in result.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert run("extract-regions", images, out, "--overwrite").exit_code == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"junk")
    result = run("extract-regions", broken, tmp_path / "none")
    assert result.exit_code == 1 and "E819" in result.output
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").iterdir())
    result = run("extract-regions", tmp_path / "missing", tmp_path / "none")
    assert result.exit_code == 1 and "E815" in result.output
