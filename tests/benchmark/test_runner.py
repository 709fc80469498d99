"""The benchmark command, its configs and its measurements."""
import json

import numpy
import pytest
from typer.testing import CliRunner

from mcr_spacy.benchmark import linear_fit
from mcr_spacy.cli import app

TINY = [
    "--set", "components.tok2vec.model.embed.width=32",
    "--set", "components.tok2vec.model.encode.width=32",
    "--set", "components.tok2vec.model.encode.depth=1",
    "--set", "components.multimodal_coref.model.hidden_width=32",
    "--set", "components.multimodal_coref.model.n_heads=2",
    "--set", "components.multimodal_coref.model.n_layers=1",
]


def test_linear_fit_tells_linear_from_quadratic():
    lengths = [500, 1000, 2000, 5000]
    linear = linear_fit([{"n_words": n, "peak_rss_increase_mb": 2 + 0.01 * n} for n in lengths])
    assert linear["marginal_first_mb_per_1000"] == pytest.approx(linear["marginal_last_mb_per_1000"])
    quadratic = linear_fit([{"n_words": n, "peak_rss_increase_mb": 1e-5 * n * n} for n in lengths])
    assert quadratic["marginal_last_mb_per_1000"] > 4 * quadratic["marginal_first_mb_per_1000"]


def test_benchmark_command_reports_both_pipelines(tmp_path):
    output = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        [
            "benchmark", "--config", "demo", "--n-docs", "6", "--batch-size", "3", "--repeats", "2",
            "--train-steps", "1", "--train-batch-size", "2", "--memory-lengths", "300,600",
            "--output", str(output), *TINY,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Ratio (b)/(a)" in result.output
    assert "(a) encoder alone" in result.output and "(b) full pipeline" in result.output
    data = json.loads(output.read_text())
    inference = data["inference"]
    assert inference["n_docs"] == 6
    for name in ("encoder", "full"):
        assert inference[name]["docs_per_s"] > 0
        assert inference[name]["words_per_s"] > 50 * inference[name]["docs_per_s"]
        assert len(inference[name]["seconds"]) == 2
    # The headline ratio pairs the two pipelines' times of the same round.
    assert inference["ratio"] == pytest.approx(
        float(numpy.median(numpy.asarray(inference["encoder"]["seconds"]) / numpy.asarray(inference["full"]["seconds"])))
    )
    assert inference["ratio_best"] == pytest.approx(
        min(inference["encoder"]["seconds"]) / min(inference["full"]["seconds"])
    )
    assert 0.0 < inference["coref_share"] < 1.0
    assert data["training"]["examples_per_s"] > 0
    assert data["encoder"] == ["tok2vec"]
    assert [row["n_words"] >= n for row, n in zip(data["memory"], (300, 600))] == [True, True]
    for row in data["memory"]:
        # Every mention is scored: nothing is dropped on long narrations.
        assert row["n_mentions_scored"] == row["n_mentions"]
        assert row["peak_rss_increase_mb"] >= 0


def test_benchmark_command_rejects_unknown_config():
    result = CliRunner().invoke(app, ["benchmark", "--config", "no-such-config.cfg", "--memory-lengths", "0"])
    assert result.exit_code != 0
    assert "neither a built-in config" in str(result.exception) + result.output


def test_demo_benchmark_has_the_demo_configs_coref_settings():
    """The benchmark's "demo" pipeline times the coreference model of configs/demo.cfg."""
    from pathlib import Path

    from thinc.api import Config

    from mcr_spacy.benchmark import load_benchmark_config

    root = Path(__file__).parent.parent.parent
    demo = Config().from_disk(root / "configs" / "demo.cfg", interpolate=False)
    bench = load_benchmark_config("demo")
    demo_model = {k: v for k, v in demo["components"]["multimodal_coref"]["model"].items() if k != "tok2vec"}
    bench_model = {k: v for k, v in bench["components"]["multimodal_coref"]["model"].items() if k != "tok2vec"}
    for key, value in bench_model.items():
        assert demo_model.get(key, value) == value, key
    assert demo_model["region_projection_rank"] == bench_model["region_projection_rank"]
