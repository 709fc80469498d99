"""Non-finite numbers never become clusters, average linkage scales, the
component pickles for spawned workers, and loading names what is wrong."""
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest
import spacy
import srsly
from confection import ConfigValidationError

import mcr_spacy  # noqa: F401
from mcr_spacy.errors import ConfigError, MultimodalCorefError, RegionsError
from mcr_spacy.pipeline.decoding import cluster_average_linkage, cluster_by_antecedents, cluster_transitive
from mcr_spacy.pipeline.tuning import tune_threshold
from mcr_spacy.annotation.regions import ImageRegions

from ..util import coref_nlp, make_examples

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained():
    nlp = coref_nlp()
    examples = make_examples(nlp, n=4)
    nlp.initialize(lambda: examples)
    return nlp, examples


def reference_average_linkage(scores, threshold):
    """The former implementation: merge the two clusters with the highest mean
    pairwise score while it is above threshold, recomputing every mean (cubic)."""
    n = scores.shape[0]
    clusters = [[i] for i in range(n)]
    sums = numpy.asarray(scores, dtype="float64").copy()
    sizes = numpy.ones(n)
    active = numpy.ones(n, dtype=bool)
    while active.sum() > 1:
        mean = sums / numpy.outer(sizes, sizes)
        mean[~active, :] = -numpy.inf
        mean[:, ~active] = -numpy.inf
        numpy.fill_diagonal(mean, -numpy.inf)
        i, j = divmod(int(numpy.argmax(mean)), n)
        if mean[i, j] <= threshold:
            break
        i, j = min(i, j), max(i, j)
        clusters[i].extend(clusters[j])
        clusters[j] = []
        sums[i, :] += sums[j, :]
        sums[:, i] += sums[:, j]
        sizes[i] += sizes[j]
        active[j] = False
    return sorted(sorted(c) for c in clusters if c)


def random_scores(rng, n, masked=False):
    vectors = rng.normal(size=(n, int(rng.integers(2, 8))))
    vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
    scores = (vectors @ vectors.T).astype("float32")
    if masked:  # pairs that must not merge, as the antecedent scores mask them
        mask = rng.random((n, n)) < 0.15
        scores[mask | mask.T] = -1e4
    return scores


def test_average_linkage_equals_the_former_implementation():
    rng = numpy.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(0, 40))
        scores = random_scores(rng, n, masked=trial % 3 == 0)
        threshold = float(rng.uniform(-0.5, 0.95))
        assert cluster_average_linkage(scores, threshold) == reference_average_linkage(scores, threshold)


def test_average_linkage_is_not_cubic():
    scores = random_scores(numpy.random.default_rng(1), 2000)
    start = time.perf_counter()
    clusters = cluster_average_linkage(scores, 0.5)
    assert time.perf_counter() - start < 10.0  # the cubic version took 81 s
    assert sorted(i for c in clusters for i in c) == list(range(2000))


@pytest.mark.parametrize("cluster", [cluster_transitive, cluster_average_linkage])
def test_nan_never_merges(cluster):
    scores = numpy.full((4, 4), numpy.nan, dtype="float32")
    assert cluster(scores, 0.5) == [[0], [1], [2], [3]]
    scores = numpy.full((3, 3), 0.1, dtype="float32")
    scores[0, 2] = scores[2, 0] = numpy.nan
    scores[1, 0] = scores[0, 1] = 0.9
    assert cluster(scores, 0.5) == [[0, 1], [2]]
    scores[1, 0] = scores[0, 1] = 0.1
    assert cluster(scores, 0.5) == [[0], [1], [2]]
    assert cluster(numpy.full((3, 3), 0.9, dtype="float32"), float("nan")) == [[0], [1], [2]]
    antecedents = numpy.full((3, 3), numpy.nan, dtype="float32")
    assert cluster_by_antecedents(antecedents, 0.5) == [[0], [1], [2]]


def test_huge_region_values_are_refused_at_construction():
    boxes = numpy.asarray([[0, 0, 10, 10], [5, 5, 20, 20]], dtype="float32")
    with pytest.raises(RegionsError, match=r"\[E030\].*'img'"):
        ImageRegions(boxes, features=numpy.full((2, 3), 1e20), image_size=(50, 50), image_id="img")
    with pytest.raises(RegionsError, match=r"\[E011\]"):
        ImageRegions(boxes, features=numpy.full((2, 3), numpy.nan), image_size=(50, 50))


@pytest.mark.parametrize("value,code", [(numpy.nan, "E011"), (1e20, "E030"), (numpy.inf, "E011")])
def test_region_values_changed_after_construction_are_refused_where_the_model_reads_them(trained, value, code):
    nlp, examples = trained
    doc = examples[1].predicted.copy()
    doc._.image_regions.features[0, 0] = value
    with pytest.raises(RegionsError, match=rf"\[{code}\].*img1"):
        nlp(doc)
    assert "coref_clusters_1" not in doc.spans


def test_non_finite_scores_name_the_doc(trained):
    nlp, examples = trained
    coref = nlp.get_pipe("multimodal_coref")
    shim = next(node.shims[0] for node in coref.model.walk() if node.shims)
    parameter = next(iter(shim._model.parameters()))
    saved = parameter.data.clone()
    try:
        parameter.data.fill_(float("nan"))
        with pytest.raises(MultimodalCorefError, match=r"\[E140\].*img0"):
            nlp(examples[0].predicted.copy())
    finally:
        parameter.data.copy_(saved)
    assert nlp(examples[0].predicted.copy()).spans["coref_mentions"]


def test_pipe_with_two_spawned_processes(tmp_path):
    script = tmp_path / "spawn_pipe.py"
    script.write_text(
        "import json, multiprocessing, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from tests.util import coref_nlp, make_examples\n"
        "def summary(doc):\n"
        "    return {k: [[s.start, s.end] for s in g] for k, g in sorted(doc.spans.items())}\n"
        "if __name__ == '__main__':\n"
        "    multiprocessing.set_start_method('spawn', force=True)\n"
        "    nlp = coref_nlp()\n"
        "    examples = make_examples(nlp, n=4)\n"
        "    nlp.initialize(lambda: examples)\n"
        "    docs = [eg.predicted for eg in examples]\n"
        "    one = [summary(d) for d in nlp.pipe(d.copy() for d in docs)]\n"
        "    two = [summary(d) for d in nlp.pipe((d.copy() for d in docs), n_process=2, batch_size=2)]\n"
        "    print('RESULT ' + json.dumps({'one': one, 'two': two}))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    assert result["one"] == result["two"] and any("coref_clusters_1" in d for d in result["one"])


@pytest.fixture
def saved(trained, tmp_path):
    nlp, examples = trained
    nlp.to_disk(tmp_path / "model")
    return tmp_path / "model", examples


def test_saved_pipeline_loads_and_weights_load_weights_only(saved):
    path, examples = saved
    doc = spacy.load(path)(examples[0].predicted.copy())
    assert doc.spans["coref_mentions"]


@pytest.mark.parametrize(
    "damage,error,code",
    [
        (lambda p: (p / "multimodal_coref" / "cfg").unlink(), ConfigError, "E142"),
        (lambda p: (p / "multimodal_coref" / "cfg").write_text("{not json"), ConfigError, "E143"),
        (lambda p: (p / "multimodal_coref" / "cfg").write_text("[1, 2]"), ConfigError, "E143"),
        (lambda p: (p / "multimodal_coref" / "model").write_bytes((p / "multimodal_coref" / "model").read_bytes()[:1000]), ConfigError, "E144"),
        (lambda p: (p / "multimodal_coref" / "model").unlink(), ConfigError, "E144"),
    ],
)
def test_damaged_pipeline_folders_name_the_file(saved, damage, error, code):
    path, _ = saved
    damage(path)
    with pytest.raises(error, match=rf"\[{code}\].*multimodal_coref"):
        spacy.load(path)


@pytest.mark.parametrize("setting,value,code", [("linkage", "bogus", "E100"), ("threshold", "high", "E141"), ("threshold", None, "E141")])
def test_bad_clustering_settings_in_cfg_or_config(saved, setting, value, code):
    path, _ = saved
    cfg_path = path / "multimodal_coref" / "cfg"
    cfg = srsly.read_json(cfg_path)
    cfg[setting] = value
    srsly.write_json(cfg_path, cfg)
    with pytest.raises(ConfigError, match=rf"\[{code}\].*{setting}|\[{code}\].*cfg"):
        spacy.load(path)
    # In a config, spaCy's own validation refuses a threshold that is not a number.
    with pytest.raises((ConfigError, ConfigValidationError), match=rf"\[{code}\]|{setting}"):
        coref_nlp(**{setting: value})


def test_crafted_weights_do_not_run_code(saved, tmp_path):
    torch = pytest.importorskip("torch")
    path, _ = saved
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    buffer = io.BytesIO()
    torch.save({"weight": Payload()}, buffer)
    model_path = path / "multimodal_coref" / "model"
    data = srsly.msgpack_loads(model_path.read_bytes())
    shim = srsly.msgpack_loads(next(s[0] for s in data["shims"] if s))
    shim["state"] = buffer.getvalue()
    data["shims"] = [[srsly.msgpack_dumps(shim)] if s else s for s in data["shims"]]
    model_path.write_bytes(srsly.msgpack_dumps(data))
    with pytest.raises(ConfigError, match=r"\[E144\]"):
        spacy.load(path)
    assert not marker.exists()


def test_tune_threshold_refuses_examples_without_gold(trained):
    nlp, examples = trained
    plain = [type(eg)(eg.predicted.copy(), nlp.make_doc(eg.predicted.text)) for eg in examples]
    coref = nlp.get_pipe("multimodal_coref")
    before = dict(coref.cfg)
    for given in (plain, []):
        with pytest.raises(ConfigError, match=r"\[E145\]"):
            tune_threshold(nlp, given, [0.5])
    assert coref.cfg == before
    assert math.isfinite(tune_threshold(nlp, examples, [0.3, 0.6])[0]["threshold"])


def test_transitive_linkage_of_long_docs_equals_the_batched_squaring(monkeypatch):
    from mcr_spacy.pipeline import decoding

    rng = numpy.random.default_rng(3)
    for trial in range(20):
        n = int(rng.integers(1, 80))
        scores = random_scores(rng, n, masked=trial % 2 == 0)
        threshold = float(rng.uniform(0.0, 0.9))
        monkeypatch.setattr(decoding, "LARGE_DOC_MENTIONS", 10**9)
        batched = cluster_transitive(scores, threshold)
        monkeypatch.setattr(decoding, "LARGE_DOC_MENTIONS", 0)
        assert cluster_transitive(scores, threshold) == batched
