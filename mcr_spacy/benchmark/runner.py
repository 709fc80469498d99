"""Speed and memory benchmark: generated narrations of realistic size, the bare
encoder pipeline against the full pipeline with `multimodal_coref`.

`run_benchmark` measures, in one run and interleaved: inference docs/s and
words/s of (a) the encoder alone and (b) the full pipeline through `nlp.pipe`,
training examples/s, peak memory, and the peak-memory increase of processing
one narration of growing length (each length in a fresh process)."""
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy

from ..synthetic import generate_narrations
from .linkage import time_linkages
from .memory import peak_rss_mb, linear_fit, memory_by_length
from .pipelines import build_pipeline, encoder_names, load_benchmark_config, standalone_encoder
from .timing import benchmark_inference, benchmark_training


def run_benchmark(
    config: Union[str, Path] = "demo",
    *,
    n_docs: int = 200,
    batch_size: int = 64,
    repeats: int = 15,
    train_docs: int = 64,
    train_steps: int = 8,
    train_batch_size: int = 16,
    memory_lengths: Sequence[int] = (500, 1000, 2000, 5000),
    linkage_mentions: int = 5000,
    seed: int = 0,
    overrides: Optional[Dict[str, Any]] = None,
    log: Any = None,
) -> Dict[str, Any]:
    """Build and initialize the pipeline, time training, then inference of the
    encoder alone and of the full pipeline (interleaved), then memory by length,
    then each clustering linkage on one doc of `linkage_mentions` mentions
    (0: skip)."""
    say = log or (lambda text: None)
    cfg = load_benchmark_config(config, overrides)
    train_narrations = generate_narrations(max(train_docs, 1), seed=seed + 1)
    say(f"Building and initializing the pipeline ({config})")
    nlp, optimizer = build_pipeline(cfg, train_narrations[:16])
    result: Dict[str, Any] = {
        "config": str(config),
        "pipeline": nlp.pipe_names,
        "encoder": encoder_names(nlp) or ["(embedded tok2vec)"],
        "torch_threads": _torch_threads(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if train_steps > 0:
        say(f"Training: {train_steps} steps of {train_batch_size} examples")
        result["training"] = benchmark_training(
            nlp, optimizer, train_narrations, batch_size=train_batch_size, steps=train_steps
        )
    narrations = generate_narrations(n_docs, seed=seed)
    result["docs"] = {
        "words_mean": float(numpy.mean([n.n_words for n in narrations])),
        "mentions_mean": float(numpy.mean([n.n_mentions for n in narrations])),
        "regions_mean": float(numpy.mean([len(n.regions) for n in narrations])),
    }
    say(f"Inference: {n_docs} docs, batch size {batch_size}, {repeats} interleaved rounds")
    encoder = standalone_encoder(nlp)
    result["inference"] = benchmark_inference(
        nlp, narrations, batch_size=batch_size, repeats=repeats, encoder=encoder
    )
    result["peak_rss_mb"] = peak_rss_mb()
    if memory_lengths:
        say(f"Memory by narration length: {', '.join(map(str, memory_lengths))} words")
        with tempfile.TemporaryDirectory() as tmp:
            nlp.to_disk(tmp)
            rows = memory_by_length(tmp, memory_lengths)
        result["memory"] = rows
        result["memory_fit"] = linear_fit(rows)
    if linkage_mentions > 0:
        say(f"Clustering one doc of {linkage_mentions} mentions with each linkage")
        result["linkage"] = time_linkages(linkage_mentions, seed=seed)
    result["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return result


def _torch_threads() -> Optional[int]:
    if "torch" not in sys.modules:
        return None
    return int(sys.modules["torch"].get_num_threads())
