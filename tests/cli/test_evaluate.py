"""`python -m mcr_spacy evaluate` on a saved pipeline, and the scorch export."""
import json
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import SpanGroup
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401
from mcr_spacy.cli import app
from mcr_spacy.annotation.gold import annotate_gold, set_mentions
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.scoring.scorch_export import ScorchError, mention_ids, run_scorch, write_scorch_dirs
from mcr_spacy.scoring.metrics import coref_metrics
from mcr_spacy.scoring.scorer import FLAT_KEYS, gold_from_doc
from mcr_spacy.training.io import read_corpus, write_docbin

# (text, clusters as mention strings, boxes per mention, regions (box, label))
DOCS = [
    (
        "A man holds a dog. He smiles at it.",
        [["A man", "He"], ["a dog", "it"]],
        {"A man": [[0, 0, 9, 9]], "He": [[0, 0, 9, 9]], "a dog": [[20, 20, 29, 29]], "it": [[20, 20, 29, 29]]},
        [([0, 0, 9, 9], "man"), ([20, 20, 29, 29], "dog"), ([0, 0, 99, 99], "tree")],
    ),
    (
        "Two women sit on a bench. They are happy.",
        [["Two women", "They"], ["a bench"]],
        {"Two women": [[10, 10, 40, 40], [50, 10, 80, 40]], "They": [[10, 10, 40, 40]], "a bench": [[0, 50, 99, 99]]},
        [([10, 10, 40, 40], "woman"), ([0, 50, 99, 99], "bench"), ([0, 0, 99, 99], "tree")],
    ),
]


def _offsets(text, mention):
    start = text.index(mention)
    return (start, start + len(mention))


def make_gold_docs(nlp):
    docs = []
    for i, (text, clusters, boxes, regions) in enumerate(DOCS):
        doc = nlp.make_doc(text)
        offset_clusters = [[_offsets(text, m) for m in cluster] for cluster in clusters]
        annotate_gold(doc, offset_clusters, {_offsets(text, m): b for m, b in boxes.items()})
        set_mentions(doc, [m for cluster in offset_clusters for m in cluster])
        doc._.image_regions = ImageRegions(
            numpy.asarray([box for box, _ in regions], dtype="float32"),
            labels=[label for _, label in regions],
            image_size=(100, 100),
            image_id=f"img{i}",
        )
        docs.append(doc)
    return docs


@Language.factory("mcr_test_copy_gold", default_config={"data_path": "", "drop": "it"})
def make_copy_gold(nlp, name, data_path, drop):
    return CopyGold(nlp, data_path, drop)


class CopyGold:
    """Test-only stand-in for multimodal_coref: writes the gold of a .spacy file
    as predictions in the component's output format. It grounds each mention to
    its first gold box; it uses the gold mentions in doc.spans["mentions"] when
    given, else it finds every gold mention except those whose text is `drop`."""

    def __init__(self, nlp, data_path, drop):
        self.gold = {}
        for doc in read_corpus(data_path, nlp.vocab):
            clusters, items = gold_from_doc(doc)
            self.gold[doc.text] = (clusters, {m: boxes[0] for m, _, boxes in items})
        self.drop = drop

    def __call__(self, doc):
        clusters, boxes = self.gold[doc.text]
        if "mentions" in doc.spans:
            mentions = {(s.start_char, s.end_char) for s in doc.spans["mentions"]}
        else:
            mentions = {m for c in clusters for m in c if doc.text[m[0]:m[1]] != self.drop}
        doc.spans["coref_mentions"] = SpanGroup(doc, spans=[doc.char_span(*m) for m in sorted(mentions)])
        index = 0
        for cluster in clusters:
            kept = [m for m in cluster if m in mentions]
            if len(kept) < 2:
                continue
            index += 1
            group = SpanGroup(doc, spans=[doc.char_span(*m) for m in kept])
            group.attrs["grounding"] = {"region": None, "box": boxes.get(kept[0]), "score": 1.0, "refined_box": None}
            doc.spans[f"coref_clusters_{index}"] = group
        for m in mentions:
            doc.char_span(*m)._.grounding = {"region": None, "box": boxes.get(m), "score": 1.0, "refined_box": None}
        return doc


@pytest.fixture
def setup(tmp_path):
    nlp = spacy.blank("en")
    data = tmp_path / "dev.spacy"
    write_docbin(make_gold_docs(nlp), data)
    nlp.add_pipe("mcr_test_copy_gold", config={"data_path": str(data)})
    model = tmp_path / "model"
    nlp.to_disk(model)
    return model, data, tmp_path


def _run(*args):
    result = CliRunner().invoke(app, ["evaluate", *map(str, args)])
    return result


def test_evaluate_gold_mentions(setup):
    model, data, tmp = setup
    out, scorch_dir = tmp / "metrics.json", tmp / "scorch"
    result = _run(model, data, "--gold-mentions", "--output", out, "--scorch-dir", scorch_dir)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(FLAT_KEYS) <= set(report)
    for key in ("coref_muc_f", "coref_b3_f", "coref_ceafe_f", "coref_blanc_f", "coref_lea_f", "coref_conll_f"):
        assert report[key] == pytest.approx(1.0), key
    # Every mention grounded to its first gold box: "Two women" has two boxes,
    # so 7 of 8 pairs are right; nouns 4 of 5 (man, dog, women x2, bench),
    # pronouns 3 of 3 (He, it, They).
    assert report["grounding_acc"] == pytest.approx(7 / 8)
    assert report["grounding_acc_noun"] == pytest.approx(4 / 5)
    assert report["grounding_acc_pronoun"] == pytest.approx(1.0)
    assert report["protocol"] == "gold mentions"
    baselines = report["baselines"]
    assert baselines["singletons"]["coref_muc_f"] == 0.0
    # The text rules get both small docs right on gold mentions.
    assert baselines["string_match"]["coref_conll_f"] == pytest.approx(1.0)
    assert {"largest_region", "label_match"} <= set(baselines)
    # largest region = the tree (the whole image), IoU exactly 0.5 with the
    # bench's box (the lower half) and below 0.5 with every other box: 1 of 8.
    assert baselines["largest_region"]["grounding_acc"] == pytest.approx(1 / 8)
    # scorch files: one per image, ids "<mention text><index>".
    gold_files = sorted((scorch_dir / "gold").glob("*.json"))
    sys_files = sorted((scorch_dir / "sys").glob("*.json"))
    assert [f.name for f in gold_files] == [f.name for f in sys_files] and len(gold_files) == 2
    first = json.loads(gold_files[0].read_text())
    assert first["type"] == "clusters" and first["name"] == "img0"
    assert sorted(map(sorted, first["clusters"].values())) == [["A man0", "He2"], ["a dog1", "it3"]]
    scorch = report["scorch"]
    assert "averages" in scorch["note"] and scorch["command"].startswith("scorch ")
    if scorch["per_document_average"] is not None:
        assert scorch["per_document_average"]["muc"]["f"] == pytest.approx(1.0)
    assert "scorch" in result.output and "MUC" in result.output


def test_evaluate_end_to_end(setup):
    model, data, tmp = setup
    out = tmp / "e2e.json"
    result = _run(model, data, "--output", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["protocol"] == "predicted mentions"
    # Without gold mentions the test component misses "it" in doc 1:
    # MUC recall (1 + 1) / (2 + 1), precision 2 / 2 -> F 0.8.
    assert report["coref"]["muc"]["r"] == pytest.approx(2 / 3)
    assert report["coref_muc_f"] == pytest.approx(0.8)
    # Mention identification: 6 of 7 gold mentions found, none invented.
    assert (report["mentions"]["r"], report["mentions"]["p"]) == pytest.approx((6 / 7, 1.0))
    # The missed mention's box counts as wrong: 6 of 8 pairs, pronouns 2 of 3.
    assert report["grounding_acc"] == pytest.approx(6 / 8)
    assert report["grounding_acc_pronoun"] == pytest.approx(2 / 3)
    assert "scorch" not in report


def test_evaluate_errors(setup, tmp_path):
    model, data, tmp = setup
    missing = _run(model, tmp / "nope.spacy")
    assert missing.exit_code == 1 and "[E203]" in missing.output
    nlp = spacy.blank("en")
    plain = tmp / "plain.spacy"
    write_docbin([nlp.make_doc("No gold here.")], plain)
    no_gold = _run(model, plain)
    assert no_gold.exit_code == 1 and "[E701]" in no_gold.output
    corrupt = tmp / "corrupt.spacy"
    corrupt.write_bytes(b"not a docbin")
    bad = _run(model, corrupt)
    assert bad.exit_code == 1 and "[E204]" in bad.output and "corrupt.spacy" in bad.output
    no_model = _run(tmp / "no-model", data)
    assert no_model.exit_code == 1 and "[E702]" in no_model.output


def test_cluster_prefix_option_and_its_old_name(setup):
    model, data, tmp = setup
    for option in ("--span-cluster-prefix", "--prefix"):
        result = _run(model, data, option, "other")
        assert result.exit_code == 1 and "[E701]" in result.output and "'other_1'" in result.output
    assert _run(model, data, "--span-cluster-prefix", "coref_clusters").exit_code == 0


def test_scorch_export_and_per_document_average(tmp_path):
    scores = pytest.importorskip("scorch.scores")
    text = "a b c d e f"
    a, b, c, d, e, f = [(i, i + 1) for i in range(0, 11, 2)]
    # doc 1: key {a,b,c}, response {a,b},{c}; doc 2: key {d,e},{f}, response {d,e,f}.
    documents = [("x", text, [[a, b, c]], [[a, b], [c]]), ("y", text, [[d, e], [f]], [[d, e, f]])]
    gold_dir, sys_dir, n = write_scorch_dirs(tmp_path, documents)
    assert n == 2
    assert mention_ids(text, [c, a]) == {a: "a0", c: "c1"}
    averaged = run_scorch(gold_dir, sys_dir)
    # scorch: per-document scores averaged, recall weighted by gold mentions,
    # precision by system mentions, F by both.
    per_doc = [scores.muc([set(k) for k in key], [set(r) for r in resp]) for _, _, key, resp in documents]
    assert averaged["muc"]["r"] == pytest.approx((3 * per_doc[0][0] + 3 * per_doc[1][0]) / 6)
    assert averaged["muc"]["p"] == pytest.approx((3 * per_doc[0][1] + 3 * per_doc[1][1]) / 6)
    pooled = coref_metrics([doc[2] for doc in documents], [doc[3] for doc in documents])
    # Pooled MUC: recall (1 + 1) / (2 + 1), precision (1 + 1) / (1 + 2).
    assert pooled["muc"]["r"] == pytest.approx(2 / 3) and pooled["muc"]["p"] == pytest.approx(2 / 3)
    assert averaged["muc"]["r"] == pytest.approx(0.75)
    assert averaged["muc"]["r"] != pytest.approx(pooled["muc"]["r"])
    # Re-exporting replaces the previous files.
    write_scorch_dirs(tmp_path, documents[:1])
    assert len(list(Path(sys_dir).glob("*.json"))) == 1
    # scorch cannot average when the system has no mention at all.
    write_scorch_dirs(tmp_path, [("x", text, [[a, b]], [])])
    with pytest.raises(ScorchError, match=r"\[E322\]"):
        run_scorch(gold_dir, sys_dir)


def test_help_documents_the_input_format():
    result = CliRunner().invoke(app, ["evaluate", "--help"])
    assert result.exit_code == 0
    for phrase in ("--gold-mentions", "--scorch-dir", "--output", "grounding", "boxes"):
        assert phrase in result.output
