"""convert-jsonlines: e2e-coref jsonlines (and VisPro's image fields) to .spacy."""
import json
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401  (installs the extensions)
from mcr_spacy.cli import app
from mcr_spacy.convert.jsonlines import (
    COCO_CLASSES,
    NOMINAL_IMAGE_SIZE,
    convert_jsonlines,
)
from mcr_spacy.errors import DataFormatError
from mcr_spacy.annotation.clusters import get_clusters
from mcr_spacy.training.io import read_corpus

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
VISPRO = DATA / "vispro" / "val.vispro.1.1.jsonlines"

RECORD = {
    "doc_key": "dl:val:1",
    "sentences": [["A", "man", "holds", "a", "dog", "."], ["He", "likes", "it", "."]],
    "speakers": [["caption"] * 6, ["answer"] * 4],
    "clusters": [[[0, 1], [6, 6]], [[3, 4], [8, 8]], [[5, 5]]],
    "image_file": "COCO_val2014_000000090057.jpg",
    "object_detection": [1, 18, 14, 1],
}


def write_lines(path, records):
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n",
        encoding="utf8",
    )
    return path


def read_docs(path):
    nlp = spacy.blank("en")
    return read_corpus(path, nlp.vocab)


def test_tokens_sentences_and_clusters_map_exactly(tmp_path):
    src = write_lines(tmp_path / "in.jsonlines", [RECORD])
    report = convert_jsonlines(src, tmp_path / "out.spacy")
    (doc,) = read_docs(tmp_path / "out.spacy")
    words = [w for s in RECORD["sentences"] for w in s]
    assert [t.text for t in doc] == words
    assert doc.text == " ".join(words)
    assert [s.start for s in doc.sents] == [0, 6]
    clusters = [[(s.start, s.end - 1) for s in c] for c in get_clusters(doc)]
    assert clusters == [[tuple(m) for m in c] for c in RECORD["clusters"]]
    assert [s.text for s in get_clusters(doc)[0]] == ["A man", "He"]
    assert [(s.start, s.end) for s in doc.spans["mentions"]] == [(0, 2), (3, 5), (5, 6), (6, 7), (8, 9)]
    assert doc.user_data["doc_key"] == "dl:val:1"
    assert all(s._.grounding is None for c in get_clusters(doc) for s in c)
    assert report.kept["clusters"] == 3 and report.kept["mentions"] == 5
    assert list(doc._.speakers) == [name for names in RECORD["speakers"] for name in names]
    assert report.kept["records with speakers"] == 1 and not report.skipped


def test_speakers_must_have_the_shape_of_the_sentences(tmp_path):
    record = dict(RECORD, speakers=[["caption"]] * len(RECORD["sentences"]))
    src = write_lines(tmp_path / "in.jsonlines", [record])
    with pytest.raises(DataFormatError, match="'speakers' must have the shape of 'sentences'"):
        convert_jsonlines(src, tmp_path / "out.spacy")
    assert not (tmp_path / "out.spacy").exists()


def test_object_detection_becomes_label_only_regions(tmp_path):
    sized = dict(RECORD, doc_key="sized", img_width=640, img_height=480, object_detection=[18])
    src = write_lines(tmp_path / "in.jsonlines", [RECORD, sized])
    convert_jsonlines(src, tmp_path / "out.spacy")
    doc, doc_sized = read_docs(tmp_path / "out.spacy")
    regions = doc._.image_regions
    assert regions.labels == ["person", "dog", "parking meter", "person"]
    assert regions.features is None
    assert regions.image_id == "COCO_val2014_000000090057"
    assert regions.image_size == NOMINAL_IMAGE_SIZE
    assert regions.boxes.tolist() == [[0.0, 0.0, 1.0, 1.0]] * 4
    assert regions.normalized_boxes()[:, 4].tolist() == [1.0] * 4
    assert doc_sized._.image_regions.boxes.tolist() == [[0.0, 0.0, 640.0, 480.0]]
    assert doc_sized._.image_regions.image_size == (640.0, 480.0)


def test_coco_table_is_the_80_classes():
    assert len(COCO_CLASSES) == 80
    assert len(set(COCO_CLASSES.values())) == 80
    assert min(COCO_CLASSES) == 1 and max(COCO_CLASSES) == 90
    assert {i for i in range(1, 91) if i not in COCO_CLASSES} == {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
    assert (COCO_CLASSES[1], COCO_CLASSES[14], COCO_CLASSES[18], COCO_CLASSES[90]) == (
        "person", "parking meter", "dog", "toothbrush")


def test_unknown_class_ids_and_duplicates_are_reported(tmp_path):
    record = dict(
        RECORD,
        object_detection=[1, 12, 999],
        clusters=[[[0, 1], [0, 1], [6, 6]], [[6, 6], [8, 8]], [], [[6, 6]]],
    )
    src = write_lines(tmp_path / "in.jsonlines", [record])
    report = convert_jsonlines(src, tmp_path / "out.spacy")
    (doc,) = read_docs(tmp_path / "out.spacy")
    assert doc._.image_regions.labels == ["person"]
    assert report.skipped["detection with unknown COCO class id 12"] == 1
    assert report.skipped["detection with unknown COCO class id 999"] == 1
    assert report.skipped["mention repeated within its cluster (kept once)"] == 1
    assert report.skipped["mention already in an earlier cluster (kept there only)"] == 2
    assert report.skipped["empty cluster in the input"] == 1
    assert report.skipped["cluster left empty by duplicate mentions"] == 1
    assert [[s.text for s in c] for c in get_clusters(doc)] == [["A man", "He"], ["it"]]


def test_subword_records_are_merged_into_words(tmp_path):
    record = {
        "doc_key": "nw_0",
        "sentences": [["[CLS]", "The", "play", "##wright", "left", ".", "He", "ret", "##ired", "[SEP]"],
                      ["[CLS]", ".", "[SEP]"]],
        "subtoken_map": [0, 0, 1, 1, 2, 3, 4, 5, 5, 5, 5, 6, 6],
        "sentence_map": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
        "clusters": [[[1, 3], [6, 6]], [[7, 8]]],
    }
    src = write_lines(tmp_path / "in.jsonlines", [record, dict(record, doc_key="bad", clusters=[[[0, 1]]])])
    with pytest.raises(DataFormatError, match="'bad'.*special token"):
        convert_jsonlines(src, tmp_path / "out.spacy")
    src = write_lines(tmp_path / "in.jsonlines", [record])
    report = convert_jsonlines(src, tmp_path / "out.spacy")
    (doc,) = read_docs(tmp_path / "out.spacy")
    assert [t.text for t in doc] == ["The", "playwright", "left", ".", "He", "retired", "."]
    assert [s.text for s in doc.sents] == ["The playwright left .", "He retired ."]
    assert [[s.text for s in c] for c in get_clusters(doc)] == [["The playwright", "He"], ["retired"]]
    assert report.kept["records with subword tokens merged into words"] == 1


def test_record_without_clusters_is_unlabelled(tmp_path):
    record = {"doc_key": "u", "sentences": [["Two", "dogs", "."]]}
    src = write_lines(tmp_path / "in.jsonlines", [record])
    convert_jsonlines(src, tmp_path / "out.spacy")
    (doc,) = read_docs(tmp_path / "out.spacy")
    assert get_clusters(doc) == [] and "mentions" not in doc.spans
    assert doc._.image_regions is None


@pytest.mark.parametrize(
    "lines,expected",
    [
        ([RECORD, '{"doc_key": "x", "sentences": [["a"]'], ["line 2", "not valid JSON"]),
        ([dict(RECORD, doc_key="bad", clusters=[[[0, 1], [3, 99]]])], ["line 1", "'bad'", "[3, 99]", "10 tokens"]),
        ([dict(RECORD, doc_key="rev", clusters=[[[4, 2]]])], ["'rev'", "[4, 2]"]),
        ([dict(RECORD, doc_key="f", clusters=[[[0.0, 1]]])], ["'f'", "two integer token indices"]),
        ([dict(RECORD, doc_key="s", sentences="A man")], ["'s'", "'sentences' must be a list"]),
        ([dict(RECORD, doc_key="e", sentences=[["A", ""]], clusters=[])], ["'e'", "token 1", "non-empty"]),
        ([dict(RECORD, doc_key="o", object_detection="dog")], ["'o'", "object_detection"]),
        ([["not", "an", "object"]], ["line 1", "expected a JSON object"]),
    ],
)
def test_malformed_input_names_the_record_and_writes_nothing(tmp_path, lines, expected):
    src = write_lines(tmp_path / "bad.jsonlines", lines)
    out = tmp_path / "out.spacy"
    with pytest.raises(DataFormatError) as err:
        convert_jsonlines(src, out)
    assert "bad.jsonlines" in str(err.value)
    for text in expected:
        assert text in str(err.value)
    assert list(tmp_path.iterdir()) == [src]


def test_byte_order_mark_and_bad_encoding(tmp_path):
    src = tmp_path / "bom.jsonlines"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(RECORD).encode("utf8") + b"\n")
    convert_jsonlines(src, tmp_path / "out.spacy")
    assert len(read_docs(tmp_path / "out.spacy")) == 1
    bad = tmp_path / "latin.jsonlines"
    bad.write_bytes(json.dumps(RECORD).encode("utf8") + b"\n" + '{"doc_key": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(DataFormatError, match="line 2: not UTF-8"):
        convert_jsonlines(bad, tmp_path / "bad.spacy")
    assert not (tmp_path / "bad.spacy").exists()


def test_cli_converts_and_fails_cleanly(tmp_path):
    runner = CliRunner()
    good = write_lines(tmp_path / "in.jsonlines", [RECORD])
    out = tmp_path / "out.spacy"
    result = runner.invoke(app, ["convert-jsonlines", str(good), str(out)])
    assert result.exit_code == 0, result.output
    assert len(read_docs(out)) == 1
    before = out.read_bytes()
    bad = write_lines(tmp_path / "bad.jsonlines", [RECORD, "{oops"])
    result = runner.invoke(app, ["convert-jsonlines", str(bad), str(out)])
    assert result.exit_code == 1
    assert "line 2" in " ".join(result.output.split())
    assert out.read_bytes() == before  # the earlier output is left whole
    result = runner.invoke(app, ["convert-jsonlines", str(tmp_path / "missing.jsonlines"), str(out)])
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())
    help_text = runner.invoke(app, ["convert-jsonlines", "--help"]).output
    for word in ("sentences", "clusters", "inclusive", "object_detection"):
        assert word in help_text


def test_vispro_validation_keeps_every_cluster_and_mention(tmp_path):
    if not VISPRO.exists():
        pytest.skip(f"VisPro data not found at {VISPRO}")
    records = [json.loads(line) for line in VISPRO.open(encoding="utf8") if line.strip()]
    n_clusters = sum(len(r["clusters"]) for r in records)
    n_mentions = sum(len(c) for r in records for c in r["clusters"])
    report = convert_jsonlines(VISPRO, tmp_path / "vispro.spacy")
    docs = read_docs(tmp_path / "vispro.spacy")
    assert len(docs) == len(records) == 500
    assert report.kept["clusters"] == n_clusters
    assert report.kept["mentions"] == n_mentions
    assert sum(len(get_clusters(d)) for d in docs) == n_clusters
    assert sum(len(d.spans["mentions"]) for d in docs) == n_mentions
    assert not any("mention" in reason or "cluster" in reason for reason in report.skipped)
    for record, doc in zip(records, docs):
        assert doc.user_data["doc_key"] == record["doc_key"]
        assert [t.text for t in doc] == [w for s in record["sentences"] for w in s]
        got = [[[s.start, s.end - 1] for s in c] for c in get_clusters(doc)]
        assert got == record["clusters"]
        regions = doc._.image_regions
        assert len(regions) == len(record["object_detection"])
        assert regions.labels == [COCO_CLASSES[i] for i in record["object_detection"]]
        assert regions.image_id == Path(record["image_file"]).stem
