"""nlp.pipe(n_process=2) with the multimodal_coref component gives the same
docs as one process (torch in forked worker processes), and a worker process
runs torch on one thread."""
import json
import multiprocessing
import os
import queue as queue_module
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r'''
import json, sys
from mcr_spacy.benchmark.pipelines import build_pipeline, load_benchmark_config
from mcr_spacy.synthetic import generate_narrations, narration_doc

overrides = {
    "components.tok2vec.model.embed.width": 32,
    "components.tok2vec.model.encode.width": 32,
    "components.tok2vec.model.encode.depth": 1,
    "components.multimodal_coref.model.hidden_width": 32,
    "components.multimodal_coref.model.n_heads": 2,
    "components.multimodal_coref.model.n_layers": 1,
}
nlp, _ = build_pipeline(load_benchmark_config("demo", overrides), generate_narrations(6, seed=1, feature_width=16))
narrations = generate_narrations(10, seed=5, feature_width=16)
narrations[3].regions = None  # a doc without an image

def summary(doc):
    mentions = doc.spans["coref_mentions"]
    return {
        "spans": {k: [[s.start, s.end] for s in g] for k, g in sorted(doc.spans.items()) if k != "mentions"},
        "regions": [s._.grounding["region"] for s in mentions],
        "boxes": [list(s._.grounding["refined_box"] or []) for s in mentions],
        "scores": [s._.grounding["score"] for s in mentions],
        "cluster_regions": [g.attrs["grounding"]["region"] for k, g in sorted(doc.spans.items()) if k.startswith("coref_clusters")],
    }

def docs():
    for n in narrations:
        doc = narration_doc(nlp, n)
        doc._.image_regions = n.regions
        yield doc

one = [summary(d) for d in nlp.pipe(docs(), batch_size=3)]
two = [summary(d) for d in nlp.pipe(docs(), batch_size=3, n_process=2)]
print("RESULT " + json.dumps({"one": one, "two": two}))
'''


def run_script(tmp_path: Path, timeout: float = 90):
    script = tmp_path / "pipe_n_process.py"
    script.write_text(SCRIPT)
    # torch's default thread count: the case where a forked worker inherits a
    # started OpenMP pool.
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["HF_HUB_OFFLINE"] = "1"
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=tmp_path, start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # Stop the script and its worker processes (its own process group).
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("nlp.pipe(n_process=2) did not finish: the worker processes hung")
    assert proc.returncode == 0, stderr[-3000:]
    line = [l for l in stdout.splitlines() if l.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_pipe_n_process_equals_one_process(tmp_path):
    result = run_script(tmp_path)
    one, two = result["one"], result["two"]
    assert len(one) == len(two) == 10
    assert sum(len(doc["scores"]) for doc in one) > 100
    for a, b in zip(one, two):
        assert a["spans"] == b["spans"]
        assert a["regions"] == b["regions"]
        assert a["cluster_regions"] == b["cluster_regions"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
        for box_a, box_b in zip(a["boxes"], b["boxes"]):
            assert box_a == pytest.approx(box_b, abs=1e-3)
    # The doc without an image grounds every mention to "no region".
    assert all(region is None for region in one[3]["regions"])


def predict_and_report_threads(coref, doc, queue):
    """In a worker process: predict, then report torch's thread count."""
    import torch

    coref.predict([doc])
    queue.put(torch.get_num_threads())


def start_and_report_threads(queue):
    """In a spawned worker process (nothing inherited): torch starts with
    several threads, the component's first prediction check leaves one."""
    import spacy
    import torch

    import mcr_spacy  # noqa: F401  (registers the factory)

    torch.set_num_threads(3)
    coref = spacy.blank("en").add_pipe("multimodal_coref")
    coref._one_thread_in_worker()
    queue.put(torch.get_num_threads())


def threads_in_worker(context: str, target, *args) -> int:
    ctx = multiprocessing.get_context(context)
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=args + (queue,))
    proc.start()
    try:
        return queue.get(timeout=120)
    except queue_module.Empty:
        pytest.fail(f"the {context} worker did not report: it hung or failed")
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


def test_forked_worker_predicts_on_one_thread():
    """A forked worker inherits torch's thread count; its first prediction
    sets one thread. The parent keeps its own."""
    import torch

    from ..util import coref_nlp, make_examples

    nlp = coref_nlp()
    examples = make_examples(nlp, n=2)
    nlp.initialize(lambda: examples)
    coref = nlp.get_pipe("multimodal_coref")
    doc = examples[0].predicted
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        coref.predict([doc])
        assert torch.get_num_threads() == 2
        assert threads_in_worker("fork", predict_and_report_threads, coref, doc) == 1
        coref.predict([doc])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_spawned_worker_uses_one_thread():
    """With the spawn start method no fork hook would run: the check in the
    component covers it."""
    assert threads_in_worker("spawn", start_and_report_threads) == 1
