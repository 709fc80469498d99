"""Commands refuse an output that would overwrite one of their inputs, leave
the inputs' bytes unchanged when they fail, save pipelines atomically, and
exit with a named error instead of a traceback on bad input."""
import hashlib
import json

import pytest
import spacy
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401
from mcr_spacy.cli import app
from mcr_spacy.training.io import read_corpus, write_docbin

from ..util import coref_nlp, make_examples


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def digest(path):
    """A hash of a file's bytes, or of every file under a folder."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A small initialized pipeline on disk and dev data with gold clusters."""
    root = tmp_path_factory.mktemp("pipeline")
    nlp = coref_nlp()
    examples = make_examples(nlp, n=6)
    nlp.initialize(lambda: examples)
    nlp.to_disk(root / "model")
    write_docbin([eg.reference for eg in examples], root / "dev.spacy")
    write_docbin([], root / "empty.spacy")
    write_docbin([nlp.make_doc("No clusters here.")], root / "plain.spacy")
    return root


JSONL = '{"doc_key": "d1", "sentences": [["A", "man", "."], ["He", "sits", "."]], "clusters": [[[0, 1], [3, 3]]]}\n'
CONLL = "#begin document (d1); part 000\nd1 0 0 A\nd1 0 1 man (1\nd1 0 2 sits 1)\n\n#end document\n"


@pytest.mark.parametrize(
    "make_args",
    [
        lambda p: ["convert-jsonlines", p["jsonl"], p["jsonl"]],
        lambda p: ["convert-conll", p["conll"], p["conll"]],
        lambda p: ["convert-ln", p["ln"], p["ln"], "--no-features"],
        lambda p: ["export-texts", p["spacy"], p["spacy"]],
        lambda p: ["split", p["spacy"], p["spacy"], p["other"]],
        lambda p: ["split", p["spacy"], p["other"], p["other"]],
        lambda p: ["split", p["spacy"], p["dir"], p["other"]],
        lambda p: ["convert-conll", p["dir"], p["dir"]],
        lambda p: ["convert-jsonlines", p["jsonl"], p["jsonl"].parent],
    ],
)
def test_output_equal_to_input_is_refused(tmp_path, make_args):
    nlp = spacy.blank("en")
    folder = tmp_path / "data"
    folder.mkdir()
    paths = {
        "jsonl": tmp_path / "x.jsonl", "conll": tmp_path / "x.conll", "ln": tmp_path / "ln.jsonl",
        "spacy": folder / "all.spacy", "other": tmp_path / "other.spacy", "dir": folder,
    }
    paths["jsonl"].write_text(JSONL)
    paths["conll"].write_text(CONLL)
    paths["ln"].write_text('{"image_id": "1", "caption": "A man."}\n')
    write_docbin([nlp.make_doc(f"Doc {i}.") for i in range(4)], paths["spacy"])
    before = {name: digest(path) for name, path in paths.items() if path.exists()}
    result = run(*make_args(paths))
    assert result.exit_code == 1
    assert "[E220]" in result.output or "[E221]" in result.output, result.output
    assert {name: digest(path) for name, path in paths.items() if path.exists()} == before
    assert not paths["other"].exists()


def test_evaluate_and_tune_refuse_their_inputs_as_output(pipeline):
    model, dev = pipeline / "model", pipeline / "dev.spacy"
    before = (digest(model), digest(dev))
    for args in (
        ["evaluate", model, dev, "--output", dev],
        ["evaluate", model, dev, "--output", model],
        ["evaluate", model, dev, "--scorch-dir", pipeline],
        ["tune-threshold", model, dev, "--output", model],
        ["tune-threshold", model, dev, "--output", pipeline],
        ["visualize", model, dev, pipeline],
    ):
        result = run(*args)
        assert result.exit_code == 1 and "[E220]" in result.output, (args, result.output)
    assert (digest(model), digest(dev)) == before


def test_tune_threshold_needs_an_output_and_leaves_the_model(pipeline, tmp_path):
    model, dev = pipeline / "model", pipeline / "dev.spacy"
    before = digest(model)
    assert run("tune-threshold", model, dev).exit_code != 0  # --output is required
    out = tmp_path / "tuned"
    result = run("tune-threshold", model, dev, "--gold-mentions", "--output", out)
    assert result.exit_code == 0, result.output
    assert digest(model) == before
    tuned = spacy.load(out)
    assert tuned.get_pipe("multimodal_coref").cfg["linkage"] in ("transitive", "average")
    # No temporary folder is left beside the output.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned"]


@pytest.mark.parametrize(
    "options,code",
    [
        (["--step", "0"], "E720"),
        (["--step", "-0.1"], "E720"),
        (["--start", "0.9", "--stop", "0.1"], "E720"),
        (["--step", "1e-9"], "E720"),
        (["--metric", "bogus"], "E721"),
    ],
)
def test_tune_threshold_refuses_bad_options(pipeline, tmp_path, options, code):
    result = run("tune-threshold", pipeline / "model", pipeline / "dev.spacy", "--output", tmp_path / "out", *options)
    assert result.exit_code == 1 and f"[{code}]" in result.output, result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("data,code", [("empty.spacy", "E722"), ("plain.spacy", "E145")])
def test_tune_threshold_refuses_dev_data_without_gold(pipeline, tmp_path, data, code):
    model = pipeline / "model"
    before = digest(model)
    result = run("tune-threshold", model, pipeline / data, "--output", tmp_path / "out")
    assert result.exit_code == 1 and f"[{code}]" in result.output, result.output
    assert not (tmp_path / "out").exists() and digest(model) == before


def test_evaluate_on_an_empty_corpus_fails(pipeline):
    result = run("evaluate", pipeline / "model", pipeline / "empty.spacy")
    assert result.exit_code == 1 and "[E722]" in result.output, result.output


def test_commands_on_damaged_or_missing_inputs(pipeline, tmp_path):
    garbage = tmp_path / "garbage.spacy"
    garbage.write_bytes(b"\x78\x9cnot a docbin at all")
    cases = [
        (["split", garbage, tmp_path / "a.spacy", tmp_path / "b.spacy"], "E204"),
        (["export-texts", garbage, tmp_path / "t.jsonl"], "E204"),
        (["annotate-mentions", pipeline / "model", garbage, tmp_path / "o.spacy"], "E204"),
        (["annotate-mentions", tmp_path / "no-model", pipeline / "dev.spacy", tmp_path / "o.spacy"], "E724"),
        (["export-texts", tmp_path / "missing.spacy", tmp_path / "t.jsonl"], "E203"),
    ]
    for args, code in cases:
        result = run(*args)
        assert result.exit_code == 1 and f"[{code}]" in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.spacy"]


def test_compare_refuses_a_json_list(tmp_path):
    report = tmp_path / "list.json"
    report.write_text(json.dumps([1, 2]))
    result = run("compare", report)
    assert result.exit_code == 1 and "[E723]" in result.output, result.output


def test_visualize_with_a_file_that_is_not_an_image(pipeline, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for doc in read_corpus(pipeline / "dev.spacy", spacy.blank("en").vocab):
        (images / f"{doc._.image_regions.image_id}.jpg").write_text("not an image")
    result = run("visualize", pipeline / "model", pipeline / "dev.spacy", tmp_path / "out", "--images", images)
    assert result.exit_code == 1 and "[E507]" in result.output, result.output
