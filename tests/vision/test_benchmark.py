"""The region extraction part of the benchmark."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy
from PIL import Image
from typer.testing import CliRunner

from mcr_spacy.benchmark.vision import MAX_REGIONS, benchmark_vision, _fill_boxes
from mcr_spacy.cli import app


def test_fill_boxes_makes_the_worst_case():
    image = numpy.zeros((30, 40, 3), dtype="uint8")
    boxes = numpy.asarray([[0, 0, 40, 30]], dtype="float32")
    filled = _fill_boxes(boxes, image, MAX_REGIONS)
    assert filled.shape == (MAX_REGIONS, 4)
    assert (filled[:, 2] <= 40).all() and (filled[:, 0] < filled[:, 2]).all()
    assert len(_fill_boxes(numpy.zeros((40, 4), dtype="float32"), image, MAX_REGIONS)) == 40


def test_benchmark_vision_reports_each_stage(tmp_path):
    rng = numpy.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (75, 100, 3), dtype="uint8")).save(tmp_path / f"{i}.jpg")
    result = benchmark_vision(sorted(tmp_path.glob("*.jpg")), repeats=1, threads=1)
    seconds = result["seconds_per_image"]
    assert set(seconds) == {"read", "detect", "features", f"features_{MAX_REGIONS}_regions"}
    assert all(value > 0 for value in seconds.values())
    assert result["detect_and_features_s"] == seconds["detect"] + seconds["features"]
    assert result["image_size_mean"] == [100, 75] and result["n_images"] == 2
    # in this process the weights may have been loaded (and freed) by other tests
    assert result["extra_memory_mb"] >= 0
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    subprocess.run(
        [sys.executable, "-m", "mcr_spacy", "benchmark", "--images", str(tmp_path), "--vision-only",
         "--repeats", "1", "-o", str(out)],
        check=True, env=env, capture_output=True,
    )
    report = json.loads(out.read_text())["vision"]
    # a fresh process: loading the detector and the encoder takes memory
    assert report["n_images"] == 2 and report["extra_memory_mb"] > 0
    cli = CliRunner().invoke(app, ["benchmark", "--vision-only"])
    assert cli.exit_code != 0 and "--images" in cli.output
