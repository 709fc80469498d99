"""convert-cin: CIN annotations + MAF regions -> .spacy, losing nothing."""
import json

import pytest
import spacy
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401  (installs the extensions)
from mcr_spacy.cli import app
from mcr_spacy.convert.cin import convert_cin, percent_to_pixels, read_cin
from mcr_spacy.errors import AlignmentError, DataFormatError
from mcr_spacy.annotation.clusters import get_clusters
from mcr_spacy.synthetic.generate import generate
from mcr_spacy.training.io import read_corpus

from .test_features import write_split


def mention(text, phrase, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = text.index(phrase, start + 1)
    return [start, start + len(phrase)]


def make_records():
    t1 = "In this image we can see a man holding a dog. He is smiling and the animal is looking at him."
    r1 = {
        "image": "101", "captions": t1, "split": "val", "img_width": 500, "img_height": 400,
        "query": ["a man", "a dog", "He", "the animal", "him"],
        "query_start_end": [mention(t1, "a man"), mention(t1, "a dog"), mention(t1, "He"),
                            mention(t1, "the animal"), mention(t1, "him")],
        "cluster": [3, 7, 3, 7, 3],
        "target_bboxes": [[[10.0, 20.0, 30.0, 50.0]], [[50.0, 60.0, 20.0, 25.5]], [[10.0, 20.0, 30.0, 50.0]],
                          [[50.0, 60.0, 20.0, 25.5]], []],
    }
    t2 = "Two girls sit on a bench. They smile."
    r2 = {
        "image": "202", "captions": t2, "split": "test", "img_width": 640, "img_height": 480,
        "query": ["Two girls", "a bench", "They"],
        "query_start_end": [mention(t2, "Two girls"), mention(t2, "a bench"), mention(t2, "They")],
        "cluster": ["g", "b", "g"],
        "target_bboxes": [[[0.0, 10.0, 20.0, 80.0], [30.0, 12.5, 20.0, 70.0]], [], [[0.0, 10.0, 20.0, 80.0], [30.0, 12.5, 20.0, 70.0]]],
    }
    return [r1, r2]


def write_cin(folder, records=None, features=True):
    records = make_records() if records is None else records
    ann = folder / "cin_annotations"
    ann.mkdir(parents=True, exist_ok=True)
    (ann / "testval_annotations.json").write_text(json.dumps(records))
    (ann / "val_image_ids.json").write_text(json.dumps(["101"]))
    (ann / "test_image_ids.json").write_text(json.dumps([202]))
    if features:
        write_split(folder / "faster_rcnn_image_features", "val", {"101": 2})
        write_split(folder / "faster_rcnn_image_features", "test", {"202": 3})
    return folder


def load(path):
    return read_corpus(path, spacy.blank("en").vocab)


def pixels_to_percent(box, width, height):
    """Inverse of `percent_to_pixels`."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return [100.0 * x1 / width, 100.0 * y1 / height, 100.0 * (x2 - x1) / width, 100.0 * (y2 - y1) / height]


def doc_to_cin_record(doc, *, split=None):
    """A converted doc back as a CIN record (chain ids from 0, mentions by
    position, boxes in percent): the inverse of the conversion."""
    regions = doc._.image_regions
    width, height = regions.image_size
    mentions = sorted(
        (span.start_char, span.end_char, i, span) for i, cluster in enumerate(get_clusters(doc)) for span in cluster
    )
    record = {
        "image": regions.image_id,
        "captions": doc.text,
        "img_width": width,
        "img_height": height,
        "query": [span.text for _, _, _, span in mentions],
        "query_start_end": [[s, e] for s, e, _, _ in mentions],
        "cluster": [c for _, _, c, _ in mentions],
        "target_bboxes": [
            [pixels_to_percent(b, width, height) for b in ((span._.grounding or {}).get("boxes") or [])]
            for _, _, _, span in mentions
        ],
    }
    if split is not None:
        record["split"] = split
    return record


def as_partition(offsets, chain_ids):
    groups = {}
    for offset, chain in zip(offsets, chain_ids):
        groups.setdefault(chain, set()).add(tuple(offset))
    return sorted(sorted(g) for g in groups.values())


def test_round_trip_loses_nothing(tmp_path):
    records = make_records()
    write_cin(tmp_path / "data", records)
    reports = convert_cin(tmp_path / "data", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["test.spacy", "val.spacy"]
    assert not reports["val"].skipped and not reports["test"].skipped
    for split, record in (("val", records[0]), ("test", records[1])):
        docs = load(tmp_path / "out" / f"{split}.spacy")
        assert len(docs) == 1
        doc = docs[0]
        assert doc.text == record["captions"]
        # mentions
        mentions = sorted((s.start_char, s.end_char) for s in doc.spans["mentions"])
        assert mentions == sorted(tuple(o) for o in record["query_start_end"])
        # clusters (singletons included)
        clusters = sorted(sorted((s.start_char, s.end_char) for s in c) for c in get_clusters(doc))
        assert clusters == as_partition(record["query_start_end"], record["cluster"])
        # boxes, in pixels
        for (s, e), boxes in zip(record["query_start_end"], record["target_bboxes"]):
            span = doc.char_span(s, e)
            cluster_span = [x for c in get_clusters(doc) for x in c if (x.start_char, x.end_char) == (s, e)][0]
            expected = [percent_to_pixels(b, record["img_width"], record["img_height"]) for b in boxes]
            got = [list(b) for b in cluster_span._.grounding["boxes"]]
            assert len(got) == len(expected), span.text
            for g, w in zip(got, expected):
                assert g == pytest.approx(w), span.text
        # regions
        regions = doc._.image_regions
        assert regions.image_id == record["image"]
        assert regions.image_size == (record["img_width"], record["img_height"])
        assert len(regions) == (2 if split == "val" else 3) and regions.labels[0] == "thing0"
        # and back to the CIN record
        back = doc_to_cin_record(doc, split=split)
        assert back["query"] == record["query"]
        assert back["query_start_end"] == record["query_start_end"]
        assert as_partition(back["query_start_end"], back["cluster"]) == as_partition(
            record["query_start_end"], record["cluster"])
        for got, want in zip(back["target_bboxes"], record["target_bboxes"]):
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert g == pytest.approx(w, abs=1e-6)
    val = load(tmp_path / "out" / "val.spacy")[0]
    assert [s.text for s in get_clusters(val)[0]] == ["a man", "He", "him"]
    assert reports["val"].kept["mentions without gold box"] == 1


def test_text_only_and_single_split(tmp_path):
    write_cin(tmp_path / "data", features=False)
    with pytest.raises(DataFormatError, match="--no-features"):
        convert_cin(tmp_path / "data", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    convert_cin(tmp_path / "data", tmp_path / "out", splits=["test"], use_features=False)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["test.spacy"]
    assert load(tmp_path / "out" / "test.spacy")[0]._.image_regions is None


def test_split_from_id_lists(tmp_path):
    records = make_records()
    for r in records:
        del r["split"]
    write_cin(tmp_path, records)
    docs, _ = read_cin(tmp_path)
    assert [d.text[:3] for d in docs["val"]] == ["In "] and [d.text[:3] for d in docs["test"]] == ["Two"]


def test_missing_split_is_an_error(tmp_path):
    write_cin(tmp_path)
    with pytest.raises(DataFormatError, match=r"no records of split 'train'.*\['test', 'val'\]"):
        read_cin(tmp_path, splits=["train"])


def test_unknown_image_fails_or_is_kept_text_only(tmp_path):
    records = make_records()
    records[1]["image"] = "999"
    write_cin(tmp_path / "data", records)
    with pytest.raises(DataFormatError, match="image 999 has no region features"):
        convert_cin(tmp_path / "data", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # not even val.spacy
    reports = convert_cin(tmp_path / "data", tmp_path / "out", allow_missing_regions=True)
    assert reports["test"].skipped["images without region features (kept as text-only docs)"] == 1
    assert load(tmp_path / "out" / "test.spacy")[0]._.image_regions is None


def test_misaligned_mention_is_reported_not_dropped_silently(tmp_path):
    records = make_records()
    text = records[0]["captions"]
    s, e = mention(text, "a dog")
    records[0]["query_start_end"][1] = [s, e - 1]  # "a do": cuts a token
    records[0]["query"][1] = "a do"
    write_cin(tmp_path / "data", records)
    reports = convert_cin(tmp_path / "data", tmp_path / "out")
    assert reports["val"].skipped["mention offsets do not align with tokens"] == 1
    assert "a do" in reports["val"].examples["mention offsets do not align with tokens"][0]
    doc = load(tmp_path / "out" / "val.spacy")[0]
    assert [s.text for s in doc.spans["mentions"]] == ["a man", "He", "the animal", "him"]
    assert [len(c) for c in get_clusters(doc)] == [3, 1]
    with pytest.raises(AlignmentError, match=r"'a do'.*--strict"):
        convert_cin(tmp_path / "data", tmp_path / "strict", strict=True)
    assert not (tmp_path / "strict").exists()


def test_whitespace_around_mention_is_trimmed(tmp_path):
    records = make_records()
    s, e = mention(records[0]["captions"], "a dog")
    records[0]["query_start_end"][1] = [s - 1, e]
    records[0]["query"][1] = " a dog"
    write_cin(tmp_path / "data", records)
    reports = convert_cin(tmp_path / "data", tmp_path / "out", strict=True)
    assert reports["val"].kept["mentions aligned after trimming whitespace"] == 1
    doc = load(tmp_path / "out" / "val.spacy")[0]
    assert "a dog" in [s.text for s in doc.spans["mentions"]]


def test_a_bare_box_is_one_box(tmp_path):
    records = make_records()
    records[0]["target_bboxes"][1] = [50.0, 60.0, 20.0, 25.5]
    write_cin(tmp_path, records)
    docs, _ = read_cin(tmp_path, splits=["val"])
    dog = [s for c in get_clusters(docs["val"][0]) for s in c if s.text == "a dog"][0]
    assert [list(b) for b in dog._.grounding["boxes"]] == [pytest.approx([250.0, 240.0, 350.0, 342.0])]


def test_query_text_disagreeing_with_offsets(tmp_path):
    records = make_records()
    records[0]["query"][2] = "She"
    write_cin(tmp_path / "data", records)
    reports = convert_cin(tmp_path / "data", tmp_path / "out")
    assert reports["val"].skipped["mention text differs from the narration at its offsets"] == 1
    with pytest.raises(DataFormatError, match="'She'"):
        convert_cin(tmp_path / "data", tmp_path / "out2", strict=True)


def test_duplicate_mentions(tmp_path):
    records = make_records()
    r = records[0]
    # the same mention twice in its own chain (merged), and once in another chain (skipped)
    for key, value in (("query", "He"), ("cluster", 3), ("target_bboxes", [[1.0, 1.0, 2.0, 2.0]])):
        r[key].append(value)
    r["query_start_end"].append(list(r["query_start_end"][2]))
    for key, value in (("query", "a man"), ("cluster", 7), ("target_bboxes", [])):
        r[key].append(value)
    r["query_start_end"].append(list(r["query_start_end"][0]))
    write_cin(tmp_path / "data", records)
    reports = convert_cin(tmp_path / "data", tmp_path / "out")
    assert reports["val"].kept["duplicate mentions merged"] == 1
    assert reports["val"].skipped["mention in two chains"] == 1
    doc = load(tmp_path / "out" / "val.spacy")[0]
    he = [s for c in get_clusters(doc) for s in c if s.text == "He"][0]
    assert len(he._.grounding["boxes"]) == 2


@pytest.mark.parametrize(
    "breakage,match",
    [
        (lambda rs: rs[0].pop("captions"), r"record 0 \(image '101'\) lacks the field\(s\) \['captions'\]"),
        (lambda rs: rs[0]["cluster"].pop(), "one entry per mention"),
        (lambda rs: rs[1]["query_start_end"].__setitem__(0, [30, 999]), r"record 1 .*mention 0 has offsets \[30, 999\]"),
        (lambda rs: rs[1]["target_bboxes"][0].append([1, 2, 3]), r"record 1 .*percent"),
        (lambda rs: rs[0].__setitem__("img_width", 0), "'img_width' must be a positive number"),
        (lambda rs: rs[0]["cluster"].__setitem__(0, None), "chain id None"),
    ],
)
def test_malformed_records_give_clear_errors_and_no_output(tmp_path, breakage, match):
    records = make_records()
    breakage(records)
    write_cin(tmp_path / "data", records)
    with pytest.raises(DataFormatError, match=match):
        convert_cin(tmp_path / "data", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_malformed_files(tmp_path):
    write_cin(tmp_path / "data")
    path = tmp_path / "data" / "cin_annotations" / "testval_annotations.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(DataFormatError, match="truncated"):
        convert_cin(tmp_path / "data", tmp_path / "out")
    path.write_text(json.dumps({"image": "1"}))
    with pytest.raises(DataFormatError, match="JSON list of records"):
        convert_cin(tmp_path / "data", tmp_path / "out")
    with pytest.raises(DataFormatError, match="No CIN annotations found"):
        convert_cin(tmp_path / "nowhere", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_on_synthetic_data_keeps_every_mention(tmp_path):
    generate(tmp_path / "synth", n_labelled=8, n_unlabelled=0, n_test=4, seed=5, feature_width=8)
    records = json.loads((tmp_path / "synth" / "cin_annotations" / "testval_annotations.json").read_text())
    result = CliRunner().invoke(app, ["convert-cin", str(tmp_path / "synth"), str(tmp_path / "corpus")])
    assert result.exit_code == 0, result.output
    assert "Nothing skipped" in result.output
    for split in ("val", "test"):
        docs = load(tmp_path / "corpus" / f"{split}.spacy")
        recs = [r for r in records if r["split"] == split]
        assert [d._.image_regions.image_id for d in docs] == [r["image"] for r in recs]
        assert sum(len(d.spans["mentions"]) for d in docs) == sum(len(r["query"]) for r in recs)
        assert sum(len(get_clusters(d)) for d in docs) == sum(len(set(r["cluster"])) for r in recs)
        assert all(d._.image_regions.feature_width == 8 for d in docs)


def test_cli_help_and_failure(tmp_path):
    result = CliRunner().invoke(app, ["convert-cin", "--help"])
    assert result.exit_code == 0 and "query_start_end" in result.output and "percent" in result.output
    result = CliRunner().invoke(app, ["convert-cin", str(tmp_path / "none"), str(tmp_path / "out")])
    assert result.exit_code == 1 and "nothing written" in result.output
