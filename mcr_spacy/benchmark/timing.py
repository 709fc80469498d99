"""Timing: inference of the encoder alone against the full pipeline
(interleaved, repeated), the time spent in the coreference component itself,
and training steps."""
import gc
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language

from ..synthetic import Narration, narration_doc, narration_example
from .pipelines import coref_names


@dataclass
class PipeTiming:
    """Wall-clock and CPU seconds of repeated `nlp.pipe` runs over the same docs."""

    seconds: List[float] = field(default_factory=list)
    cpu_seconds: List[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return float(numpy.median(self.seconds))

    @property
    def best_cpu(self) -> float:
        return min(self.cpu_seconds)


def time_pipe(
    nlp: Language, narrations: Sequence[Narration], batch_size: int, disable: Sequence[str] = (),
    collect: bool = True,
) -> Tuple[float, float]:
    """Wall-clock and CPU seconds (this process, all threads) to make the
    narrations' docs (tokenize, attach regions and mentions) and run
    `nlp.pipe` over them, consuming the output. `collect`: collect garbage
    first (outside the timing)."""
    if collect:
        gc.collect()
    start = time.perf_counter()
    start_cpu = time.process_time()
    docs = (narration_doc(nlp, n) for n in narrations)
    for _ in nlp.pipe(docs, batch_size=batch_size, disable=list(disable)):
        pass
    return time.perf_counter() - start, time.process_time() - start_cpu


def benchmark_inference(
    nlp: Language,
    narrations: Sequence[Narration],
    *,
    batch_size: int,
    repeats: int,
    encoder: Optional[Language] = None,
) -> Dict[str, Any]:
    """Docs/s and words/s of (a) the encoder alone and (b) the full pipeline.

    Each round runs both over all narrations, interleaved batch by batch (the
    order of the two swapped from one batch to the next), so that the two
    see the same conditions of a shared machine; garbage is collected once
    per round, outside the timing. The ratio (b)/(a) is the median over
    rounds of each round's ratio; throughput comes from each one's fastest
    round. Also from CPU time (this process, all threads)."""
    coref = coref_names(nlp)
    n_words = sum(n.n_words for n in narrations)
    n_docs = len(narrations)
    runs = {
        "encoder": (encoder or nlp, [] if encoder is not None else coref),
        "full": (nlp, []),
    }
    timings = {name: PipeTiming() for name in runs}
    chunks = [narrations[i: i + batch_size] for i in range(0, n_docs, batch_size)]
    # Warm up both (thread pools, lazily built tables).
    for name, (pipe_nlp, disable) in runs.items():
        time_pipe(pipe_nlp, chunks[0], batch_size, disable)
    shares: List[float] = []
    for r in range(repeats):
        gc.collect()
        wall = {name: 0.0 for name in runs}
        cpu = {name: 0.0 for name in runs}
        # Only the full runs call the coref component.
        with ComponentTimer(nlp, coref) as timer:
            for c, chunk in enumerate(chunks):
                order = list(runs) if (r + c) % 2 == 0 else list(reversed(list(runs)))
                for name in order:
                    pipe_nlp, disable = runs[name]
                    chunk_wall, chunk_cpu = time_pipe(pipe_nlp, chunk, batch_size, disable, collect=False)
                    wall[name] += chunk_wall
                    cpu[name] += chunk_cpu
        shares.append(timer.seconds / wall["full"])
        for name in runs:
            timings[name].seconds.append(wall[name])
            timings[name].cpu_seconds.append(cpu[name])
    result: Dict[str, Any] = {"n_docs": n_docs, "n_words": n_words, "batch_size": batch_size, "repeats": repeats}
    for name, timing in timings.items():
        result[name] = {
            "docs_per_s": n_docs / timing.best,
            "words_per_s": n_words / timing.best,
            "docs_per_s_median": n_docs / timing.median,
            "docs_per_cpu_s": n_docs / timing.best_cpu,
            "words_per_cpu_s": n_words / timing.best_cpu,
            "seconds": timing.seconds,
            "cpu_seconds": timing.cpu_seconds,
        }
    encoder_s = numpy.asarray(timings["encoder"].seconds)
    full_s = numpy.asarray(timings["full"].seconds)
    result["ratio"] = float(numpy.median(encoder_s / full_s))
    result["ratio_best"] = timings["encoder"].best / timings["full"].best
    result["ratio_median"] = timings["encoder"].median / timings["full"].median
    result["ratio_cpu"] = float(numpy.median(
        numpy.asarray(timings["encoder"].cpu_seconds) / numpy.asarray(timings["full"].cpu_seconds)
    ))
    # Within the full runs: the share of time spent in the coref component
    # itself (its predict and set_annotations); 1 - share leaves out what the
    # full pipeline pays outside the component's own methods.
    result["coref_share"] = float(numpy.median(shares))
    result["ratio_in_run"] = 1.0 - result["coref_share"]
    return result


class ComponentTimer:
    """Accumulates the wall-clock seconds spent in some components' `predict`
    and `set_annotations` while the block runs."""

    def __init__(self, nlp: Language, names: Sequence[str]) -> None:
        self.procs = [nlp.get_pipe(name) for name in names]
        self.seconds = 0.0

    def _timed(self, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed

    def __enter__(self) -> "ComponentTimer":
        for proc in self.procs:
            proc.predict = self._timed(proc.predict)
            proc.set_annotations = self._timed(proc.set_annotations)
        return self

    def __exit__(self, *exc: Any) -> None:
        for proc in self.procs:
            del proc.predict
            del proc.set_annotations


def benchmark_training(
    nlp: Language, optimizer: Any, narrations: Sequence[Narration], *, batch_size: int, steps: int
) -> Dict[str, Any]:
    """Examples/s of `nlp.update` on labelled examples (after one warm-up step)."""
    examples = [narration_example(nlp, n) for n in narrations]
    batches = [examples[i: i + batch_size] for i in range(0, len(examples), batch_size)] or [examples]
    losses: Dict[str, float] = {}
    nlp.update(batches[0], sgd=optimizer, losses=losses)
    n_examples = 0
    n_words = 0
    gc.collect()
    start = time.perf_counter()
    for step in range(steps):
        batch = batches[(step + 1) % len(batches)]
        nlp.update(batch, sgd=optimizer, losses=losses, drop=0.1)
        n_examples += len(batch)
        n_words += sum(len(eg.predicted.text.split()) for eg in batch)
    seconds = time.perf_counter() - start
    return {
        "steps": steps,
        "batch_size": batch_size,
        "examples_per_s": n_examples / seconds,
        "words_per_s": n_words / seconds,
        "seconds": seconds,
    }
