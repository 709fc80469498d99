"""The timed console logger: spaCy's console output, then a JSON report of how long training took."""
import io

import pytest
import spacy
import srsly
from spacy.util import registry

from mcr_spacy.training.loggers import process_seconds


def _run_logger(path, infos):
    setup = registry.loggers.get("mcr_spacy.TimedConsoleLogger.v1")(path=path)
    stdout = io.StringIO()
    log_step, finalize = setup(spacy.blank("en"), stdout, io.StringIO())
    for info in infos:
        log_step(info)
    finalize()
    return stdout.getvalue()


def _info(step, score):
    return {"epoch": 1, "step": step, "score": score, "other_scores": {}, "losses": {}, "checkpoints": [],
            "seconds": step // 10, "words": 10 * step}


def test_timed_logger_writes_steps_evaluations_and_provenance(tmp_path):
    path = tmp_path / "reports" / "time.json"
    path.parent.mkdir()
    output = _run_logger(str(path), [_info(0, 0.25), None, _info(20, 0.75), None, _info(40, 0.5)])
    report = srsly.read_json(path)
    assert report["steps"] == 40 and report["best_score"] == 0.75
    assert [(e["step"], e["seconds"], e["score"]) for e in report["evaluations"]] == [(0, 0, 0.25), (20, 2, 0.75), (40, 4, 0.5)]
    assert report["loop_seconds"] >= 0 and set(report["provenance"]) == {"machine", "commit", "date"}
    assert report["load_average"] is None or len(report["load_average"]) == 3
    assert "0.75" in output or "75" in output  # the console table is still printed


def test_timed_logger_counts_the_steps_after_the_last_evaluation(tmp_path):
    # max_steps 4 with eval_frequency 3: spaCy evaluates steps 0 and 3 only
    path = tmp_path / "time.json"
    _run_logger(str(path), [_info(0, 0.25), None, None, _info(3, 0.5), None])
    report = srsly.read_json(path)
    assert report["steps"] == 4 and [e["step"] for e in report["evaluations"]] == [0, 3]


def test_timed_logger_without_a_path_writes_nothing(tmp_path):
    _run_logger(None, [_info(0, 0.5)])
    assert list(tmp_path.iterdir()) == []


def test_process_seconds_counts_from_the_start_of_this_process():
    seconds = process_seconds()
    if seconds is None:
        pytest.skip("no /proc on this system: the process start time is not known")
    assert seconds > 0
