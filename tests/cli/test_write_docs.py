"""write-docs: the docs pages are made from the JSON reports, figures and provenance included."""
import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from mcr_spacy.cli import app
from mcr_spacy.cli.write_docs import benchmarks_page, provenance, results_page

PROVENANCE = {"machine": "Test CPU, 2 CPUs", "commit": "abc1234", "date": "2026-01-02 03:04 UTC"}


def _coref(f):
    return {key: {"r": f, "p": f, "f": f} for key in ("muc", "b3", "ceafm", "ceafe", "blanc", "lea")} | {"conll_f": f}


def _report(f=0.875, acc=0.6125):
    return {
        "coref": _coref(f),
        "grounding_acc": acc, "grounding_acc_noun": 0.5, "grounding_acc_pronoun": 0.25,
        "mentions": {"r": 1.0, "p": 1.0, "f": 1.0}, "protocol": "gold mentions", "n_docs": 7,
        "baselines": {
            "string_match": {"kind": "coreference", "coref": _coref(0.5)},
            "label_match": {"kind": "grounding", "grounding_acc": 0.125, "grounding_acc_noun": 0.25, "grounding_acc_pronoun": 0.0},
        },
        "provenance": PROVENANCE,
    }


def test_results_page_shows_the_reports_figures_and_provenance():
    page = results_page({"test_gold_mentions.json": _report()}, "metrics")
    rows = {line.split(" | ")[0]: line for line in page.splitlines() if line.startswith("| ")}
    assert rows["| `multimodal_coref`"].split(" | ")[1:8] == ["87.50"] * 6 + ["61.25"]
    assert rows["| string match"].split(" | ")[1] == "50.00"
    assert rows["| label match"].split(" | ")[7] == "12.50"
    assert "machine Test CPU, 2 CPUs; commit abc1234; 2026-01-02 03:04 UTC" in page
    assert "7 docs; protocol: gold mentions" in page


def test_pages_without_reports_say_what_to_run():
    assert "run the `all` workflow first" in results_page({}, "metrics")
    assert "project run benchmark" in benchmarks_page({}, "metrics")


def test_benchmarks_page():
    report = {"config": "demo", "inference": {"encoder": {"docs_per_s": 200.0}, "full": {"docs_per_s": 180.0},
                                              "ratio": 0.9, "coref_share": 0.117},
              "load_average": [0.5, 0.4, 0.3], "load_average_end": [1.25, 1.0, 1.0],
              "training": {"examples_per_s": 40.0}, "torch_threads": 1,
              "cpu_count": 2, "memory": [{"n_words": 500, "peak_rss_increase_mb": 6.54}], "provenance": PROVENANCE}
    page = benchmarks_page({"benchmark_demo.json": report}, "metrics")
    assert "| ratio (median of rounds) | 0.900 |" in page
    assert "| component share of pipeline time | 11.7 % |" in page
    assert "| 500 |  | 6.5 |" in page
    assert "| load average at start / end | 0.50 / 1.25 |" in page


def test_write_docs_command(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "test_gold_mentions.json").write_text(json.dumps(_report()))
    out = tmp_path / "docs"
    result = CliRunner().invoke(app, ["write-docs", str(metrics), str(out)])
    assert result.exit_code == 0, result.output
    assert "87.50" in (out / "results.md").read_text()
    assert (out / "benchmarks.md").is_file()


def test_write_docs_refuses_a_broken_report_and_writes_nothing(tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "test_gold_mentions.json").write_text("{not json")
    out = tmp_path / "docs"
    result = CliRunner().invoke(app, ["write-docs", str(metrics), str(out)])
    assert result.exit_code == 1
    assert "test_gold_mentions.json" in result.output
    assert not (out / "results.md").exists()


def test_provenance_names_the_checkout_commit():
    root = Path(__file__).resolve().parents[2]
    prov = provenance(root)
    assert set(prov) == {"machine", "commit", "date"}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    if head.returncode == 0:
        assert prov["commit"].split("+")[0] == head.stdout.strip()
    else:
        assert prov["commit"] == "unknown"


def test_vispro_section_compares_the_model_without_regions_and_the_baselines():
    pronouns = {g: {"p": 0.5, "r": 0.25, "f": 1 / 3, "n": 4} for g in ("all", "discussed", "not_discussed")}
    report = _report(f=0.9) | {"vispro_pronouns": pronouns, "n_docs": 3,
                               "text_only": {"coref": _coref(0.8), "vispro_pronouns": pronouns}}
    page = results_page({"vispro_test_gold_mentions.json": report}, "metrics")
    rows = {}
    for line in page.splitlines():
        if line.startswith("| "):
            rows.setdefault(line.split(" | ")[0], line.split(" | "))  # the first table: coreference
    assert rows["| same, regions removed"][1] == "80.00"
    assert rows["| string match"][1] == "50.00"
    assert "| `multimodal_coref` | 50.00 / 25.00 / 33.33 |" in page
    assert "3 dialogs; protocol: gold mentions." in page


def test_vispro_section_shows_grounding_by_label_when_reported():
    by_label = {"model": {"acc": 0.75, "n": 8, "acc_noun": 1.0, "n_noun": 4, "acc_pronoun": 0.5, "n_pronoun": 4},
                "majority label": {"acc": 0.5, "n": 8, "acc_noun": 0.5, "n_noun": 4, "acc_pronoun": 0.5, "n_pronoun": 4}}
    page = results_page({"vispro_test_gold_mentions.json": _report(f=0.9) | {"label_grounding": by_label}}, "metrics")
    assert "| system | all (8) | noun phrases (4) | pronouns (4) |" in page
    assert "| `multimodal_coref` | 75.00 | 100.00 | 50.00 |" in page
    assert "| majority label | 50.00 | 50.00 | 50.00 |" in page
    assert "Grounding by detector label" not in results_page({"vispro_test_gold_mentions.json": _report(f=0.9)}, "metrics")


def test_vispro_end_to_end_section_reports_mention_detection():
    report = _report(f=0.7) | {"n_docs": 5, "protocol": "predicted mentions", "singletons": False,
                               "mentions": {"r": 0.9, "p": 0.6, "f": 0.72}}
    page = results_page({"vispro_test_end_to_end.json": report}, "metrics")
    assert "## VisPro dialogs, end to end (mentions from the parser)" in page
    assert "| `multimodal_coref` | 70.00 |" in page and page.count("mention F1") == 1
    assert "| 72.00 |" in page
    assert ("5 dialogs; protocol: predicted mentions (one-mention clusters not scored, as VisPro annotates none); "
            "mention detection R / P / F1: 90.00 / 60.00 / 72.00") in page


def test_benchmarks_page_has_the_region_extraction_table():
    vision = {"n_images": 4, "repeats": 5, "threads": 1, "image_size_mean": [500, 375], "regions_mean": 12,
              "seconds_per_image": {"read": 0.003, "detect": 0.12, "features": 0.07},
              "detect_and_features_s": 0.19, "detect_and_features_36_regions_s": 0.191,
              "first_image_with_loading_s": 0.8, "extra_memory_mb": 310.0, "extractor": "det + enc"}
    page = benchmarks_page({"benchmark_vision.json": {"vision": vision}}, "metrics")
    assert "## Region extraction from photos" in page
    assert "| detect | 0.120 |" in page and "| detection + features of 36 regions | 0.191 |" in page
    assert "4 image(s) of 500×375 pixels" in page and "Extra memory (peak): 310.0 MiB." in page


def test_training_time_section_shows_both_vispro_configs():
    timing = {"steps": 300, "process_seconds": 330.0, "loop_seconds": 270.0, "best_score": 0.9125,
              "load_average": [2.5, 5.25, 4.0], "provenance": PROVENANCE,
              "evaluations": [{"step": 0, "seconds": 1, "score": 0.5}, {"step": 300, "seconds": 250, "score": 0.875}]}
    page = results_page({"vispro_train_time.json": timing, "vispro_e2e_train_time.json": dict(timing, process_seconds=None)}, "metrics")
    assert "## Training time on VisPro" in page
    assert "| `vispro.cfg` (gold mentions) | 300 | 5.5 min | 4.5 min | 87.50 | 91.25 | 5.2 | Test CPU, 2 CPUs; commit abc1234" in page
    assert "| `vispro_e2e.cfg` (end to end) | 300 | – | 4.5 min |" in page
