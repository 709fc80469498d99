"""The benchmark command, its configs and its measurements."""
import inspect
import json
from pathlib import Path

import numpy
import pytest
import typer
from spacy.language import Language
from spacy.util import registry
from thinc.api import Config
from typer.testing import CliRunner

from mcr_spacy.benchmark import BUILTIN_CONFIGS, linear_fit, load_benchmark_config
from mcr_spacy.benchmark.pipelines import builtin_config_text
from mcr_spacy.cli import app
from mcr_spacy.cli.benchmark import _parse_lengths, _parse_overrides
from mcr_spacy.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

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
    rows = data["memory"]
    assert [row["n_words"] >= n for row, n in zip(rows, (300, 600))] == [True, True]
    # Memory grows with length: the allocations traced while processing the
    # narration (tokens, vectors, scores) nearly double with twice the words.
    assert rows[1]["n_tokens"] > rows[0]["n_tokens"]
    assert rows[1]["peak_traced_mb"] > 1.4 * rows[0]["peak_traced_mb"]
    for row in rows:
        # Every mention is scored: nothing is dropped on long narrations.
        assert row["n_mentions_scored"] == row["n_mentions"]
        # Not clamped: the peak counts every page resident since the baseline
        # was read, so a negative increase means the baseline was read wrong.
        assert row["peak_rss_increase_mb"] >= 0


def test_benchmark_command_rejects_unknown_config():
    result = CliRunner().invoke(app, ["benchmark", "--config", "no-such-config.cfg", "--memory-lengths", "0"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert "[E605]" in str(result.exception) and "neither a built-in config" in str(result.exception)


def test_benchmark_options_are_checked():
    assert _parse_lengths("500, 1000") == [500, 1000] and _parse_lengths("0") == []
    with pytest.raises(typer.BadParameter, match=r"\[E609\]"):
        _parse_lengths("500,many")
    with pytest.raises(typer.BadParameter, match=r"\[E610\]"):
        _parse_lengths("500,-1")
    assert _parse_overrides(["a.b=2", "a.c=text"]) == {"a.b": 2, "a.c": "text"}
    with pytest.raises(typer.BadParameter, match=r"\[E611\]"):
        _parse_overrides(["a.b"])
    result = CliRunner().invoke(app, ["benchmark", "--n-docs", "0", "--memory-lengths", "0"])
    assert result.exit_code != 0 and "[E612]" in result.output


def test_builtin_configs_are_package_files():
    """The built-in configs are the .cfg files shipped in the package; the
    names keep working and a config without multimodal_coref is refused."""
    assert sorted(BUILTIN_CONFIGS) == ["demo", "minilm"]
    for name in BUILTIN_CONFIGS:
        text = builtin_config_text(name)
        assert Config().from_str(text, interpolate=False)["components"]["multimodal_coref"]["factory"] == "multimodal_coref"
    config = load_benchmark_config("demo", {"components.multimodal_coref.model.hidden_width": 32})
    assert config["components"]["multimodal_coref"]["model"]["hidden_width"] == 32
    assert config["components"]["multimodal_coref"]["model"]["tok2vec"]["width"] == 96  # interpolated


def test_config_without_coref_is_refused(tmp_path):
    from mcr_spacy.benchmark import build_pipeline

    path = tmp_path / "bare.cfg"
    path.write_text('[nlp]\nlang = "en"\npipeline = []\n\n[components]\n')
    with pytest.raises(ConfigError, match=r"\[E607\]"):
        build_pipeline(load_benchmark_config(path), [])


def _effective(section, defaults):
    """Each setting's value in a config section: as written, else its default."""
    unknown = set(section) - set(defaults) - {"@architectures", "factory"}
    assert not unknown, f"settings the code does not know: {sorted(unknown)}"
    return {key: section.get(key, defaults.get(key)) for key in set(section) | set(defaults)}


def test_demo_benchmark_has_the_demo_configs_coref_settings():
    """The benchmark's "demo" pipeline times the coreference component of
    configs/demo.cfg: every setting of the component and of its model agrees,
    written or left to its default, in both directions."""
    demo = Config().from_disk(ROOT / "configs" / "demo.cfg", interpolate=False)["components"]["multimodal_coref"]
    bench = load_benchmark_config("demo")["components"]["multimodal_coref"]
    # Settings that may differ, and why:
    # - model.tok2vec: the benchmark's encoder is a tok2vec component of
    #   en_core_web_sm's shape (width 96, depth 4) that the coref listens to,
    #   so that the encoder can be timed alone; the demo embeds its own.
    # - mention_getter: the benchmark gives gold mentions in doc.spans["mentions"];
    #   the demo falls back to the entities of its mention detector.
    # - scorer: the benchmark scores nothing (null).
    # - itc_weight, label_prop_weight, label_prop_warmup: weights and schedule
    #   of training losses; they change what is learnt, not what inference
    #   computes (the benchmark times training with every loss on from step 0).
    may_differ = {"model", "mention_getter", "scorer", "itc_weight", "label_prop_weight", "label_prop_warmup"}
    factory_defaults = Language.get_factory_meta("multimodal_coref").default_config
    demo_settings = _effective(demo, factory_defaults)
    bench_settings = _effective(bench, factory_defaults)
    for key in set(demo_settings) - may_differ:
        assert demo_settings[key] == bench_settings[key], key
    architecture = registry.architectures.get(demo["model"]["@architectures"])
    model_defaults = {
        name: param.default for name, param in inspect.signature(architecture).parameters.items()
        if param.default is not inspect.Parameter.empty
    }
    demo_model = _effective(demo["model"], {**model_defaults, "tok2vec": None})
    bench_model = _effective(bench["model"], {**model_defaults, "tok2vec": None})
    assert demo_model.keys() == bench_model.keys()
    for key in set(demo_model) - {"tok2vec"}:
        assert demo_model[key] == bench_model[key], key
