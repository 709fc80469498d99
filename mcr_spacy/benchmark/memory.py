"""Memory: the peak-RSS increase of processing one narration of a given
length, each length in a fresh process, and fits of memory against length."""
import gc
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy

from ..errors import Errors
from ..synthetic import generate_narration, narration_doc
from .pipelines import coref_names


def _status_mb(field: str) -> Optional[float]:
    """A memory figure of `/proc/self/status` (Linux) in MiB; None where there is none."""
    status = Path("/proc/self/status")
    if status.exists():
        match = re.search(rf"{field}:\s+(\d+)\s+kB", status.read_text())
        if match:
            return int(match.group(1)) / 1024
    return None


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB."""
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return peak_rss_mb() if rss is None else rss


def _reset_peak_rss() -> bool:
    """Reset the peak-RSS counter (Linux >= 4.0); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_memory(model_dir: Union[str, Path], n_words: int, *, seed: int = 7, batch_size: int = 64) -> Dict[str, Any]:
    """In this process: load the pipeline, warm it up on a short narration,
    then process one narration of `n_words` words and return the increase of
    peak RSS (and, with tracemalloc, of Python/numpy allocations) it caused.

    The increase is the peak after processing less the resident memory just
    after the peak counter was reset (`exact_peak`), or, where the counter
    cannot be reset, less the peak before. It is not clamped: the peak counts
    every page resident since the baseline was read, so a negative figure
    would mean the measurement itself is wrong."""
    import tracemalloc

    import spacy

    import mcr_spacy.pipeline.component  # noqa: F401

    nlp = spacy.load(model_dir)
    short = generate_narration(seed, n_words=100)
    list(nlp.pipe([narration_doc(nlp, short)], batch_size=batch_size))
    narration = generate_narration(seed, n_words=n_words)
    doc = narration_doc(nlp, narration)
    gc.collect()
    exact = _reset_peak_rss()
    base_rss = _rss_mb()
    base_peak = peak_rss_mb()
    tracemalloc.start()
    start = time.perf_counter()
    doc = next(iter(nlp.pipe([doc], batch_size=batch_size)))
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = peak_rss_mb()
    name = coref_names(nlp)[0]
    n_scored = len(doc.spans.get(nlp.get_pipe(name).cfg["mentions_key"], []))
    return {
        "n_words": narration.n_words,
        "n_tokens": len(doc),
        "n_mentions": narration.n_mentions,
        "n_mentions_scored": n_scored,
        "n_regions": len(narration.regions),
        "peak_rss_increase_mb": peak - (base_rss if exact else base_peak),
        "peak_traced_mb": traced_peak / (1024 * 1024),
        "exact_peak": exact,
        "seconds": seconds,
    }


def memory_by_length(
    model_dir: Union[str, Path], lengths: Sequence[int], *, timeout: float = 600.0
) -> List[Dict[str, Any]]:
    """`measure_memory` for each length, each in a fresh Python process."""
    rows = []
    for n_words in lengths:
        code = (
            "import json, sys; from mcr_spacy.benchmark.memory import measure_memory; "
            f"print('MEMORY ' + json.dumps(measure_memory({str(model_dir)!r}, {int(n_words)})))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        )
        if proc.returncode != 0:
            raise RuntimeError(Errors.E608.format(n_words=n_words, stderr=proc.stderr[-4000:]))
        line = [l for l in proc.stdout.splitlines() if l.startswith("MEMORY ")][-1]
        rows.append(json.loads(line[len("MEMORY "):]))
    return rows


def linear_fit(rows: Sequence[Dict[str, Any]], key: str = "peak_rss_increase_mb") -> Dict[str, float]:
    """Least-squares fits of memory against words: linear, and quadratic term.
    `growth_ratio`: memory per word at the longest length over that at the
    shortest (about 1 for linear growth plus a constant, about L_max/L_min
    for quadratic growth)."""
    x = numpy.asarray([r["n_words"] for r in rows], dtype="float64")
    y = numpy.asarray([r[key] for r in rows], dtype="float64")
    if len(rows) < 2:
        return {}
    slope, intercept = numpy.polyfit(x, y, 1)
    fit = {"mb_per_1000_words": float(slope * 1000), "intercept_mb": float(intercept)}
    if len(rows) >= 3:
        quad = numpy.polyfit(x, y, 2)
        fit["quadratic_mb_at_max"] = float(quad[0] * x.max() ** 2)
    # Marginal memory per word between the two shortest and the two longest.
    first = (y[1] - y[0]) / max(x[1] - x[0], 1)
    last = (y[-1] - y[-2]) / max(x[-1] - x[-2], 1)
    fit["marginal_first_mb_per_1000"] = float(first * 1000)
    fit["marginal_last_mb_per_1000"] = float(last * 1000)
    return fit
