"""summarize-ablation and summarize-folds, their sections of the results page, and
refined-box rows of evaluate."""
import json

import pytest
from typer.testing import CliRunner

from mcr_spacy.cli import app
from mcr_spacy.cli.write_docs import results_page
from mcr_spacy.errors import DataFormatError
from mcr_spacy.scoring.ablation import summarize_folds, summarize_variants

from .test_evaluate import _run, setup  # noqa: F401  (the fixture)


def write_run(folder, prefix, seed, acc, held_out, precision=None):
    report = {"grounding_acc": acc, "grounding_acc_refined": acc - 0.01, "coref_conll_f": 0.9}
    if precision is not None:
        report["grounding_box_precision"] = precision
    (folder / f"{prefix}_s{seed}.json").write_text(json.dumps(report))
    (folder / f"{prefix}_s{seed}_phenomena.json").write_text(json.dumps({"with_image": {"held_out_category": {"grounding_acc": held_out}}}))


def test_summary_means_over_seeds_and_differences(tmp_path):
    for seed, (a, h) in enumerate([(0.70, 0.40), (0.74, 0.50)]):
        write_run(tmp_path, "base", seed, a, h)
    for seed, (a, h) in enumerate([(0.80, 0.60), (0.78, 0.62), (0.79, 0.61)]):
        write_run(tmp_path, "loss", seed, a, h, precision=0.9 - seed / 100)
    summary = summarize_variants(tmp_path, {"without": "base", "with": "loss"}, "without")
    base, loss = summary["variants"]["without"], summary["variants"]["with"]
    assert base["seeds"] == ["0", "1"] and loss["seeds"] == ["0", "1", "2"]
    assert base["mean"]["grounding_acc"] == pytest.approx(0.72)
    assert loss["delta"]["grounding_acc"] == pytest.approx(0.79 - 0.72)
    assert loss["delta"]["held_out_grounding_acc"] == pytest.approx(0.61 - 0.45)
    assert base["delta"]["grounding_acc"] == 0
    assert base["std"]["grounding_acc"] == pytest.approx(0.0282843, abs=1e-6)
    assert loss["std"]["held_out_grounding_acc"] == pytest.approx(0.01)
    page = results_page({"traces_ablation.json": summary}, "metrics")
    assert "Mouse traces" in page and "79.00 (+7.00)" in page
    # Box precision where the reports have it; none in the older reports.
    assert loss["mean"]["grounding_box_precision"] == pytest.approx(0.89)
    assert base["mean"]["grounding_box_precision"] is None and loss["delta"]["grounding_box_precision"] is None
    assert "box precision" in page and "89.00 (–)" in page
    with pytest.raises(DataFormatError, match=r"\[E760\]"):
        summarize_variants(tmp_path, {"x": "nothing"}, "x")
    with pytest.raises(DataFormatError, match=r"\[E761\]"):
        summarize_variants(tmp_path, {"with": "loss"}, "without")


def test_summarize_ablation_command(tmp_path):
    write_run(tmp_path, "base", 0, 0.7, 0.4)
    write_run(tmp_path, "loss", 0, 0.8, 0.6)
    out = tmp_path / "out" / "summary.json"
    args = ["summarize-ablation", str(tmp_path), str(out), "--variant", "a=base", "--variant", "b=loss", "--baseline", "a"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())
    assert summary["variants"]["b"]["delta"]["grounding_acc"] == pytest.approx(0.1)
    assert "provenance" in summary
    result = CliRunner().invoke(app, args[:3] + ["--variant", "broken", "--baseline", "a"])
    assert result.exit_code == 1 and "E762" in result.output


def test_evaluate_reports_refined_boxes_beside_region_boxes(setup):  # noqa: F811
    model, data, tmp = setup
    out = tmp / "metrics.json"
    result = _run(model, data, "--gold-mentions", "--output", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    # The test component writes no refined boxes: every gold box is missed by them.
    assert report["grounding_acc_refined"] == 0.0 and report["grounding_refined"]["total"] == report["grounding"]["total"]
    assert "refined boxes" in result.output
    g = report["grounding"]
    assert report["grounding_box_precision"] == g["box_precision"] == g["boxes_matched"] / g["boxes_predicted"]
    assert "box precision" in result.output


def test_single_region_ceiling_counts_one_box_per_mention_with_several():
    import numpy
    import spacy

    from mcr_spacy import ImageRegions
    from mcr_spacy.scoring.ablation import region_ceilings, single_region_ceiling

    nlp = spacy.blank("en")
    doc = nlp("two men and a dog")
    boxes = numpy.asarray([[0, 0, 40, 90], [50, 0, 90, 90], [0, 100, 30, 130]], dtype="float32")
    doc._.image_regions = ImageRegions(boxes=boxes, labels=["man", "man", "dog"], image_size=(100, 140))
    men, dog = doc[0:2], doc[3:5]
    men._.grounding = {"boxes": [[0, 0, 40, 90], [50, 0, 90, 90]]}
    dog._.grounding = {"boxes": [[60, 100, 90, 130]]}  # no region matches it
    doc.spans["coref_clusters_1"] = [men]
    doc.spans["coref_clusters_2"] = [dog]
    # one region per mention: one of the two men's boxes, not the dog's
    assert single_region_ceiling([doc]) == pytest.approx(1 / 3)
    assert single_region_ceiling([nlp("nothing here")]) is None
    # several regions per mention: both men's boxes
    assert region_ceilings([doc]) == {"single_region": pytest.approx(1 / 3), "several_regions": pytest.approx(2 / 3)}


def write_fold(folder, k, model, baseline, with_baseline=True):
    def scores(conll, muc):
        return {"coref_conll_f": conll, "coref": {"muc": {"f": muc}, "b3": {"f": conll}}}
    report = {**scores(model, model + 0.02), "n_docs": 10 + k, "protocol": "gold mentions"}
    report["baselines"] = {"string_match": {"kind": "coreference", **scores(baseline, baseline + 0.01)}} if with_baseline else {}
    (folder / f"fold_s{k}.json").write_text(json.dumps(report))


def test_summarize_folds_means_and_margin(tmp_path):
    for k, (model, baseline) in enumerate([(0.90, 0.86), (0.92, 0.85), (0.88, 0.87)]):
        write_fold(tmp_path, k, model, baseline)
    summary = summarize_folds(tmp_path, "fold")
    assert [fold["fold"] for fold in summary["folds"]] == ["0", "1", "2"] and summary["n_docs"] == 33
    assert summary["mean"]["model"]["conll"] == pytest.approx(0.90)
    assert summary["mean"]["string_match"]["muc"] == pytest.approx(0.87)
    assert summary["margin"]["conll"] == pytest.approx(0.90 - 0.86)
    assert summary["margin_std"] == pytest.approx(0.03)  # margins 0.04, 0.07, 0.01
    assert summary["mean"]["model"]["lea"] is None and summary["margin"]["lea"] is None
    page = results_page({"vispro_cv.json": summary}, "metrics")
    assert "VisPro cross-validation" in page and "**90.00** / 86.00" in page and "+4.00" in page
    out = tmp_path / "summary" / "cv.json"
    result = CliRunner().invoke(app, ["summarize-folds", str(tmp_path), str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["margin"]["conll"] == pytest.approx(0.04)
    with pytest.raises(DataFormatError, match=r"\[E764\]"):
        summarize_folds(tmp_path, "nothing")
    write_fold(tmp_path, 3, 0.9, 0.8, with_baseline=False)
    with pytest.raises(DataFormatError, match=r"\[E765\].*fold_s3"):
        summarize_folds(tmp_path, "fold")


def test_summarize_folds_keeps_label_grounding(tmp_path):
    for k, (model, majority) in enumerate([(0.9, 0.7), (0.8, 0.6)]):
        write_fold(tmp_path, k, 0.9, 0.85)
        report = json.loads((tmp_path / f"fold_s{k}.json").read_text())
        scores = {"acc": model, "acc_noun": model + 0.05, "acc_pronoun": None, "n": 10, "n_noun": 6, "n_pronoun": 0}
        report["label_grounding"] = {"model": scores, "majority label": dict(scores, acc=majority, acc_noun=majority)}
        (tmp_path / f"fold_s{k}.json").write_text(json.dumps(report))
    summary = summarize_folds(tmp_path, "fold")
    assert summary["folds"][1]["label_grounding"]["model"]["acc"] == pytest.approx(0.8)
    means = summary["label_grounding"]
    assert means["model"]["acc"] == pytest.approx(0.85) and means["model"]["acc_noun"] == pytest.approx(0.9)
    assert means["majority label"]["acc"] == pytest.approx(0.65) and means["model"]["acc_pronoun"] is None
    page = results_page({"vispro_cv.json": summary}, "metrics")
    assert "| `multimodal_coref` | 85.00 | 90.00 | – |" in page and "| majority label | 65.00 | 65.00 | – |" in page


def test_summarize_folds_without_label_grounding_has_none(tmp_path):
    write_fold(tmp_path, 0, 0.9, 0.85)
    summary = summarize_folds(tmp_path, "fold")
    assert "label_grounding" not in summary and "label_grounding" not in summary["folds"][0]
    assert "Grounding by detector label" not in results_page({"vispro_cv.json": summary}, "metrics")


def test_seed_runs_summarize_like_folds_and_show_as_seeds(tmp_path):
    for k, (model, baseline) in enumerate([(0.92, 0.89), (0.94, 0.89), (0.93, 0.89)]):
        write_fold(tmp_path, k, model, baseline)
        (tmp_path / f"fold_s{k}.json").rename(tmp_path / f"seed_s{k}.json")
    summary = summarize_folds(tmp_path, "seed")
    assert [run["fold"] for run in summary["folds"]] == ["0", "1", "2"]
    assert summary["margin"]["conll"] == pytest.approx(0.04)
    assert summary["margin_std"] == pytest.approx(0.01)  # margins 0.03, 0.05, 0.04
    page = results_page({"vispro_seeds.json": summary, "vispro_cv.json": summary}, "metrics")
    seeds = page.index("over training seeds")
    assert seeds < page.index("VisPro cross-validation")  # the held-out part's spread, before the folds
    section = page[seeds:page.index("VisPro cross-validation")]
    assert "| seed | dialogs |" in section and "| 1 | 11 | 94.00 / 89.00 |" in section
    assert "| mean | 10 | **93.00** / 89.00 |" in section  # the same dialogs each time: not summed
    assert "mean of the seeds: +4.00 (standard deviation over seeds 1.00)" in section
    folds = page[page.index("VisPro cross-validation"):]
    assert "| fold | dialogs |" in folds and "| mean | 33 |" in folds
