"""Registered training loggers."""
import os
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

import srsly
from spacy.language import Language
from spacy.training.loggers import console_logger
from spacy.util import registry

from .io import write_bytes_atomic
from .reports import provenance


def process_seconds() -> Optional[float]:
    """Seconds since this process started (Linux: from /proc), else None."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


@registry.loggers("mcr_spacy.TimedConsoleLogger.v1")
def timed_console_logger(
    path: Optional[str] = None, progress_bar: bool = False
) -> Callable[[Language, IO, IO], Tuple[Callable[[Optional[Dict[str, Any]]], None], Callable[[], None]]]:
    """spaCy's console logger that also writes, when training ends, a JSON
    report of how long it took to `path` (none when null): the wall-clock
    seconds of the whole `spacy train` process (loading and initialising the
    pipeline included) and of the training loop, the last step (also when
    `max_steps` is not a multiple of `eval_frequency`), and each
    evaluation's step, seconds and score, with the machine's load average
    when training ended and its name, commit and date."""
    console = console_logger(progress_bar=progress_bar)

    def setup_printer(nlp: Language, stdout: IO, stderr: IO):
        log_step, finalize = console(nlp, stdout, stderr)
        started = time.monotonic()
        evaluations: List[Dict[str, Any]] = []
        last: Dict[str, Any] = {}

        def log(info: Optional[Dict[str, Any]]) -> None:
            # spaCy logs every step, with info only on the steps it evaluates:
            # the steps after the last evaluation count too
            if info is not None:
                last.update(step=info["step"], epoch=info["epoch"])
                evaluations.append({"step": info["step"], "seconds": info["seconds"], "score": info["score"]})
            elif "step" in last:
                last["step"] += 1
            log_step(info)

        def finish() -> None:
            finalize()
            if path is None:
                return
            loop = time.monotonic() - started
            process = process_seconds()
            report = {
                "pipeline": nlp.pipe_names,
                "steps": last.get("step"),
                "epochs": last.get("epoch"),
                "loop_seconds": round(loop, 1),
                "process_seconds": None if process is None else round(process, 1),
                "evaluations": evaluations,
                "best_score": max((e["score"] for e in evaluations), default=None),
                # other work on the machine slows training: the 1, 5 and 15 minute load
                "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
                "provenance": provenance(),
            }
            write_bytes_atomic(srsly.json_dumps(report, indent=2).encode("utf8"), path)

        return log, finish

    return setup_printer
