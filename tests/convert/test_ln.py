"""convert-ln: unlabelled narrations (flk30k_LN or Localized Narratives JSONL)
with their regions -> .spacy."""
import json

import h5py
import numpy
import pytest
import spacy
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401  (installs the extensions)
from mcr_spacy.cli import app
from mcr_spacy.convert.ln import convert_ln, read_ln, trace_boxes_from_ln
from mcr_spacy.errors import DataFormatError
from mcr_spacy.synthetic.generate import generate
from mcr_spacy.training.io import read_corpus

from .test_features import write_split

VOCAB = {"1": "a", "2": "man", "3": "with", "4": "dog", "5": "he", "6": "smiles"}


def write_flk30k(folder, images=None, labels=None, starts=None, ends=None, traces=True):
    folder.mkdir(parents=True, exist_ok=True)
    images = images or [
        {"id": 101, "split": "train", "width": 200, "height": 100},
        {"id": 202, "split": "train"},
        {"id": 303, "split": "val"},
    ]
    labels = labels if labels is not None else [
        [1, 2, 3, 1, 4, 0, 0],  # image 101: "a man with a dog"
        [5, 6, 0, 0, 0, 0, 0],  # image 101, second narration: "he smiles"
        [1, 4, 0, 0, 0, 0, 0],  # image 202
        [2, 0, 0, 0, 0, 0, 0],  # image 303
    ]
    starts = starts if starts is not None else [1, 3, 4]
    ends = ends if ends is not None else [2, 3, 4]
    (folder / "flk30k_LN.json").write_text(json.dumps({"ix_to_word": VOCAB, "images": images}))
    with h5py.File(folder / "flk30k_LN_label.h5", "w") as f:
        f.create_dataset("labels", data=numpy.asarray(labels, dtype="uint32"))
        f.create_dataset("label_start_ix", data=numpy.asarray(starts, dtype="int64"))
        f.create_dataset("label_end_ix", data=numpy.asarray(ends, dtype="int64"))
    if traces:
        (folder / "flk30k_LN_trace_box").mkdir(exist_ok=True)
        numpy.save(folder / "flk30k_LN_trace_box" / "101.npy", numpy.full((5, 5), 0.25, dtype="float32"))
    write_split(folder / "faster_rcnn_image_features", "train", {"101": 2, "202": 3})
    return folder


def load(path):
    return read_corpus(path, spacy.blank("en").vocab)


def test_flk30k_narrations(tmp_path):
    write_flk30k(tmp_path / "data")
    report = convert_ln(tmp_path / "data", tmp_path / "out.spacy")
    docs = load(tmp_path / "out.spacy")
    assert [d.text for d in docs] == ["a man with a dog", "he smiles", "a dog"]
    assert [d._.image_regions.image_id for d in docs] == ["101", "101", "202"]
    assert docs[0]._.image_regions.image_size == (200.0, 100.0)
    assert len(docs[2]._.image_regions) == 3
    trace = numpy.asarray(docs[0]._.trace_boxes)
    assert trace.shape == (5, 5) and float(trace[0, 0]) == 0.25
    assert docs[2]._.trace_boxes is None
    assert not any(d.spans for d in docs)  # unlabelled
    assert report.kept["docs"] == 3 and report.kept["docs with trace boxes"] == 2
    assert report.kept["image sizes taken from the detections"] == 1


def test_split_and_limit(tmp_path):
    write_flk30k(tmp_path)
    write_split(tmp_path / "faster_rcnn_image_features", "val", {"303": 1})
    docs, _ = read_ln(tmp_path, split="val")
    assert [d.text for d in docs] == ["man"]
    docs, _ = read_ln(tmp_path, limit=2)
    assert len(docs) == 2
    docs, _ = read_ln(tmp_path, use_features=False)
    assert len(docs) == 3 and all(d._.image_regions is None for d in docs)


def test_image_without_features_is_skipped_and_reported(tmp_path):
    write_flk30k(tmp_path)
    write_split(tmp_path / "faster_rcnn_image_features", "train", {"101": 2})
    docs, report = read_ln(tmp_path)
    assert len(docs) == 2 and report.skipped["narrations whose image has no region features"] == 1
    with pytest.raises(DataFormatError, match="Image 202 has no region features"):
        read_ln(tmp_path, strict=True)


@pytest.mark.parametrize(
    "split,kwargs,match",
    [
        ("train", dict(labels=[[1, 99, 0], [5, 0, 0], [1, 0, 0], [2, 0, 0]]), "row 1 .* word id 99, which is not in ix_to_word"),
        ("val", dict(starts=[1, 3], ends=[2, 3]), "2 label_start_ix / 2 label_end_ix entries for 3 images"),
        ("val", dict(starts=[1, 3, 9], ends=[2, 3, 9]), r"image 303 .* rows 9..9"),
    ],
)
def test_malformed_flk30k_files(tmp_path, split, kwargs, match):
    write_flk30k(tmp_path / "data", **kwargs)
    write_split(tmp_path / "data" / "faster_rcnn_image_features", "val", {"303": 1})
    with pytest.raises(DataFormatError, match=match):
        convert_ln(tmp_path / "data", tmp_path / "out.spacy", split=split)
    assert not (tmp_path / "out.spacy").exists()


def test_corrupt_label_file_and_trace(tmp_path):
    write_flk30k(tmp_path)
    numpy.save(tmp_path / "flk30k_LN_trace_box" / "101.npy", numpy.zeros((3, 4), dtype="float32"))
    with pytest.raises(DataFormatError, match=r"101\.npy.*\[T, 5\]"):
        read_ln(tmp_path)
    (tmp_path / "flk30k_LN_label.h5").write_bytes(b"\x00" * 100)
    with pytest.raises(DataFormatError, match="truncated or corrupt"):
        read_ln(tmp_path)
    (tmp_path / "flk30k_LN.json").write_text('{"ix_to_word": {')
    with pytest.raises(DataFormatError, match="Cannot parse"):
        read_ln(tmp_path)


LN_RECORD = {
    "dataset_id": "mscoco_val2017",
    "image_id": "202",
    "annotator_id": 61,
    "caption": "In this image I can see a dog. It is on the grass.",
    "timed_caption": [
        {"utterance": "In this image", "start_time": 0.0, "end_time": 1.0},
        {"utterance": "a dog", "start_time": 1.0, "end_time": 2.0},
        {"utterance": "the grass", "start_time": 5.0, "end_time": 6.0},
    ],
    "traces": [[{"x": 0.1, "y": 0.2, "t": 0.5}, {"x": 0.3, "y": 0.1, "t": 0.9}],
               [{"x": 0.5, "y": 0.5, "t": 1.5}, {"x": 1.2, "y": 0.7, "t": 1.9}]],
}


def test_localized_narratives_jsonl(tmp_path):
    write_split(tmp_path / "faster_rcnn_image_features", "train", {"202": 3})
    (tmp_path / "ln.jsonl").write_text(json.dumps(LN_RECORD) + "\n\n")
    report = convert_ln(tmp_path / "ln.jsonl", tmp_path / "out.spacy")
    doc = load(tmp_path / "out.spacy")[0]
    assert doc.text == LN_RECORD["caption"]
    assert doc._.image_regions.image_id == "202"
    trace = numpy.asarray(doc._.trace_boxes)
    # one box per token: each token has its utterance's box
    assert trace.shape == (len(doc), 5)
    for token in doc[0:3]:  # "In this image"
        numpy.testing.assert_allclose(trace[token.i], [0.1, 0.1, 0.3, 0.2, 0.02], atol=1e-6)
    for token in doc[6:8]:  # "a dog"; clipped to the image
        numpy.testing.assert_allclose(trace[token.i], [0.5, 0.5, 1.0, 0.7, 0.1], atol=1e-6)
    assert doc[12:14].text == "the grass"
    assert not trace[12:14].any()  # no trace point while it was said
    assert not trace[[3, 4, 5, 8, 9, 10, 11, 14]].any()  # words outside every utterance
    assert report.kept["docs"] == 1
    # a folder of .jsonl files works too
    docs, _ = read_ln(tmp_path)
    assert len(docs) == 1


def test_malformed_jsonl(tmp_path):
    write_split(tmp_path / "faster_rcnn_image_features", "train", {"202": 3})
    path = tmp_path / "ln.jsonl"
    path.write_text(json.dumps(LN_RECORD) + "\n" + '{"image_id": "202", "capt\n')
    with pytest.raises(DataFormatError, match=r"ln\.jsonl, line 2: not valid JSON"):
        convert_ln(path, tmp_path / "out.spacy")
    assert not (tmp_path / "out.spacy").exists()
    path.write_text(json.dumps({"image_id": "202"}) + "\n")
    with pytest.raises(DataFormatError, match="line 1: .*'caption'"):
        convert_ln(path, tmp_path / "out.spacy")
    with pytest.raises(DataFormatError, match="traces"):
        trace_boxes_from_ln([{"start_time": 0}], [[{"x": 1}]], "here")


def test_synthetic_unlabelled_data_via_cli(tmp_path):
    generate(tmp_path / "synth", n_labelled=0, n_unlabelled=7, n_test=0, seed=2, feature_width=8)
    result = CliRunner().invoke(app, ["convert-ln", str(tmp_path / "synth"), str(tmp_path / "train.spacy")])
    assert result.exit_code == 0, result.output
    docs = load(tmp_path / "train.spacy")
    info = json.loads((tmp_path / "synth" / "flk30k_LN.json").read_text())
    assert [d._.image_regions.image_id for d in docs] == [str(i["id"]) for i in info["images"]]
    for doc, image in zip(docs, info["images"]):
        assert doc._.image_regions.image_size == (image["width"], image["height"])
        # one trace box per narration word, and the words are the tokens
        assert numpy.asarray(doc._.trace_boxes).shape == (len(doc), 5)
        assert doc.text == doc.text.lower() and "." not in doc.text
    result = CliRunner().invoke(app, ["convert-ln", str(tmp_path / "synth"), str(tmp_path / "x.spacy"), "--limit", "3", "--no-features"])
    assert result.exit_code == 0 and len(load(tmp_path / "x.spacy")) == 3


def test_cli_help_and_failure(tmp_path):
    result = CliRunner().invoke(app, ["convert-ln", "--help"])
    assert result.exit_code == 0 and "label_start_ix" in result.output and "timed_caption" in result.output
    result = CliRunner().invoke(app, ["convert-ln", str(tmp_path), str(tmp_path / "out.spacy")])
    assert result.exit_code == 1 and "nothing written" in result.output
