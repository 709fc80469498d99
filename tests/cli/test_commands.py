"""What the commands share (the component's keys, the number format) and the
coded failures of the small commands."""
import json

import pytest
import spacy
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401
from mcr_spacy.cli import app
from mcr_spacy.cli._util import component_keys, format_percent
from mcr_spacy.training.io import read_corpus, write_docbin


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_format_percent():
    assert format_percent(0.12345) == "12.35"
    assert format_percent(0.12345, decimals=1) == "12.3"
    assert format_percent(None) == "-" and format_percent(None, missing="") == ""
    assert format_percent(0.5, sign=True) == "+50.00" and format_percent(-0.005, sign=True) == "-0.50"


def test_component_keys():
    nlp = spacy.blank("en")
    assert component_keys(nlp) == ("coref_clusters", "coref_mentions")
    nlp.add_pipe("multimodal_coref", name="coref", config={"span_cluster_prefix": "gold", "mentions_key": "found"})
    assert component_keys(nlp) == ("gold", "found")


def test_split_and_export_texts(tmp_path):
    nlp = spacy.blank("en")
    write_docbin([nlp.make_doc(f"Doc {i}.") for i in range(5)], tmp_path / "all.spacy")
    result = run("split", tmp_path / "all.spacy", tmp_path / "a.spacy", tmp_path / "b.spacy", "--fraction", "0.6")
    assert result.exit_code == 0, result.output
    first, second = (read_corpus(tmp_path / name, nlp.vocab) for name in ("a.spacy", "b.spacy"))
    assert len(first) == 3 and len(second) == 2
    assert sorted(d.text for d in first + second) == [f"Doc {i}." for i in range(5)]
    result = run("export-texts", tmp_path / "a.spacy", tmp_path / "b.spacy", tmp_path / "texts.jsonl")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "texts.jsonl").read_text().splitlines()
    assert [json.loads(line)["text"] for line in lines] == [d.text for d in first + second]


def test_split_folds_tests_each_doc_once_and_never_in_its_training(tmp_path):
    nlp = spacy.blank("en")
    texts = [f"Doc {i}." for i in range(10)]
    write_docbin([nlp.make_doc(text) for text in texts], tmp_path / "all.spacy")
    result = run("split-folds", tmp_path / "all.spacy", tmp_path / "cv", "--folds", "3", "--dev-size", "2")
    assert result.exit_code == 0, result.output
    tested = []
    for k in range(3):
        train, dev, test = ([d.text for d in read_corpus(tmp_path / "cv" / f"{part}_{k}.spacy", nlp.vocab)]
                            for part in ("train", "dev", "test"))
        assert sorted(train + test) == sorted(texts) and not set(train) & set(test)
        assert dev == train[:2]
        tested += test
    assert sorted(tested) == sorted(texts)
    # the input is left as it was
    assert [d.text for d in read_corpus(tmp_path / "all.spacy", nlp.vocab)] == texts
    for folds in ("1", "11"):
        result = run("split-folds", tmp_path / "all.spacy", tmp_path / "bad", "--folds", folds)
        assert result.exit_code == 1 and "E763" in result.output and not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "args,code",
    [
        (["split", "in.spacy", "a.spacy", "b.spacy", "--fraction", "1.5"], "E703"),
        (["export-texts", "out.jsonl"], "E704"),
        (["check-cin", "."], "E705"),
        (["compare", "a.json", "b.json", "--names", "only-one"], "E707"),
        (["compare", "missing.json"], "E708"),
        (["split", "missing.spacy", "a.spacy", "b.spacy"], "E203"),
    ],
)
def test_failures_have_codes(tmp_path, monkeypatch, args, code):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code != 0 and f"[{code}]" in result.output
