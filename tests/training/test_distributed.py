"""Two gloo processes on CPU, launched by torchrun: both ranks end with
identical weights, the loss fell, and only rank 0 saved the pipeline."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

CONFIG = """
[paths]
train = null
dev = null

[system]
seed = 0
gpu_allocator = null

[nlp]
lang = "en"
pipeline = ["tok2vec","multimodal_coref"]
batch_size = 16

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 32
attrs = ["NORM", "SHAPE"]
rows = [1000, 100]
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 32
depth = 1
window_size = 1
maxout_pieces = 2

[components.multimodal_coref]
factory = "multimodal_coref"

[components.multimodal_coref.model]
@architectures = "mcr_spacy.MultimodalCoref.v1"
hidden_width = 32
n_heads = 2
n_layers = 1
dropout = 0.0

[components.multimodal_coref.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = 32
upstream = "tok2vec"

[corpora]

[corpora.train]
@readers = "mcr_spacy.GeneratedNarrations.v1"
n_docs = 11
seed = 1
feature_width = 16

[corpora.dev]
@readers = "mcr_spacy.GeneratedNarrations.v1"
n_docs = 3
seed = 2
feature_width = 16

[training]
seed = 0
gpu_allocator = null
dropout = 0.0
max_steps = 8
max_epochs = 0
eval_frequency = 4
patience = 0

[training.batcher]
@batchers = "spacy.batch_by_sequence.v1"
size = 100

[training.optimizer]
@optimizers = "Adam.v1"
learn_rate = 0.003
"""


def run(cmd, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "_TYPER_STANDARD_TRACEBACK": "1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"{' '.join(map(str, cmd))} did not finish in {timeout} s")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def test_two_gloo_processes(tmp_path):
    config = tmp_path / "tiny.cfg"
    config.write_text(CONFIG)
    output = tmp_path / "training"
    reports = tmp_path / "reports"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "mcr_spacy", "train-distributed", str(config), str(output), "--report-dir", str(reports),
    ]
    proc = run(cmd, tmp_path)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-5000:])
    summaries = [json.loads((reports / f"rank{r}.json").read_text()) for r in range(2)]
    for rank, summary in enumerate(summaries):
        assert summary["rank"] == rank
        assert summary["world_size"] == 2
        assert summary["backend"] == "gloo"
        # 9 steps: spaCy's loop runs steps 0..max_steps.
        assert summary["steps"] == 9
        losses = summary["step_losses"]
        assert len(losses) == 9
        # Each rank trains on its whole shard every step: the loss must fall.
        assert sum(losses[-2:]) < 0.9 * sum(losses[:2]), losses
    # Data sharded by rank: 11 examples as 6 + 5.
    assert sorted(s["shard_size"] for s in summaries) == [5, 6]
    # Different data on each rank, yet identical weights: gradients were averaged.
    assert summaries[0]["step_losses"] != summaries[1]["step_losses"]
    assert summaries[0]["fingerprint"] == summaries[1]["fingerprint"]
    # Only rank 0 evaluated and saved.
    assert summaries[0]["score"] is not None and summaries[1]["score"] is None
    assert sorted(p.name for p in output.iterdir()) == ["model-best", "model-last"]
    import mcr_spacy  # noqa: F401
    from mcr_spacy.synthetic import generate_narration, narration_doc

    nlp = spacy.load(output / "model-last")
    doc = nlp(narration_doc(nlp, generate_narration(3, feature_width=16)))
    assert len(doc.spans["coref_mentions"]) > 10
