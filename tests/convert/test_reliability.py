"""Converters on files that are not UTF-8, nested too deeply or with image
sizes that are not numbers give named errors, and a multi-file converter
writes all its outputs or none."""
import json

import h5py
import numpy
import pytest
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401
from mcr_spacy.cli import app
from mcr_spacy.convert.cin import convert_cin
from mcr_spacy.convert.common import image_size_from, load_json
from mcr_spacy.convert.features import RegionFeatureStore
from mcr_spacy.convert.jsonlines import convert_jsonlines
from mcr_spacy.convert.ln import convert_ln
from mcr_spacy.errors import DataFormatError

from .test_cin import write_cin
from .test_features import write_split


def test_convert_cin_writes_all_splits_or_none(tmp_path):
    write_cin(tmp_path / "data")
    out = tmp_path / "out"
    (out / "test.spacy").mkdir(parents=True)  # the second split cannot be written
    result = CliRunner().invoke(app, ["convert-cin", str(tmp_path / "data"), str(out)])
    assert result.exit_code == 1 and "[E223]" in result.output, result.output
    assert sorted(p.name for p in out.iterdir()) == ["test.spacy"]  # no val.spacy, no temporary file
    convert_cin(tmp_path / "data", tmp_path / "fine")
    assert sorted(p.name for p in (tmp_path / "fine").iterdir()) == ["test.spacy", "val.spacy"]


@pytest.mark.parametrize(
    "content,match",
    [
        ("[1, 2]".encode("latin-1") + b"\xff\xfe", "not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"a": ', "not valid JSON"),
    ],
)
def test_json_files_that_cannot_be_read(tmp_path, content, match):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=match):
        load_json(path, "test data")
    lines = tmp_path / "x.jsonl"
    lines.write_bytes(content + b"\n")
    with pytest.raises(DataFormatError, match=match):
        convert_jsonlines(lines, tmp_path / "out.spacy")
    with pytest.raises(DataFormatError, match=match):
        convert_ln(lines, tmp_path / "out.spacy", use_features=False)
    assert not (tmp_path / "out.spacy").exists()


def test_cin_annotations_not_utf8(tmp_path):
    write_cin(tmp_path / "data")
    path = tmp_path / "data" / "cin_annotations" / "testval_annotations.json"
    path.write_bytes(path.read_text().replace("man", "m\u00e4n").encode("latin-1"))
    result = CliRunner().invoke(app, ["convert-cin", str(tmp_path / "data"), str(tmp_path / "out")])
    assert result.exit_code == 1 and "not UTF-8" in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("width", ["wide", None, -3, float("nan"), True])
def test_image_sizes_that_are_not_numbers(tmp_path, width):
    with pytest.raises(DataFormatError, match="image size"):
        image_size_from({"image_w": width, "image_h": 10}, (("image_w", "image_h"),), "record 1")
    features = tmp_path / "feats"
    write_split(features, "val", {"101": 2})
    detections = features / "val_detection_dict.json"
    data = json.loads(detections.read_text())
    data["101"].update({"image_w": width, "image_h": 480})
    detections.write_text(json.dumps(data))
    with RegionFeatureStore(features, "val") as store:
        with pytest.raises(DataFormatError, match="'image_w'"):
            store.get("101")


def test_ln_image_size_not_a_number(tmp_path):
    info = {"ix_to_word": {"1": "a"}, "images": [{"id": "5", "split": "train", "width": "wide", "height": 3}]}
    (tmp_path / "flk30k_LN.json").write_text(json.dumps(info))
    with h5py.File(tmp_path / "flk30k_LN_label.h5", "w") as f:
        f["labels"] = numpy.ones((1, 2), dtype="int64")
        f["label_start_ix"] = numpy.asarray([1])
        f["label_end_ix"] = numpy.asarray([1])
    with pytest.raises(DataFormatError, match="'width'"):
        convert_ln(tmp_path, tmp_path / "out.spacy", use_features=False)
    assert not (tmp_path / "out.spacy").exists()
