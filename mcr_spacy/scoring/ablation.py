"""Ablation summaries: variants of a setting, each trained with several seeds
and evaluated on the same test set, as means with their per-seed values and
their difference from a baseline variant; and cross-validation summaries:
the model against the string-match baseline on each fold's test part."""
import re
import statistics
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy
import srsly
from scipy.optimize import linear_sum_assignment
from spacy.tokens import Doc

from ..annotation.boxes import box_iou
from ..annotation.clusters import get_clusters
from ..defaults import CLUSTER_PREFIX, IOU_THRESHOLD
from ..errors import DataFormatError, Errors
from .label_grounding import TABLE_ROWS as LABEL_GROUNDING_ROWS

# The figures summarised: (name, where in the evaluation report or, for
# `phenomena:` names, in the phenomena report's "with_image" scores).
SUMMARY_KEYS = (
    ("grounding_acc", "grounding_acc"),
    ("grounding_acc_refined", "grounding_acc_refined"),
    ("grounding_box_precision", "grounding_box_precision"),
    ("coref_conll_f", "coref_conll_f"),
    ("held_out_grounding_acc", "phenomena:held_out_category"),
)


def _mean(values: Sequence[Optional[float]]) -> Optional[float]:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def _std(values: Sequence[Optional[float]]) -> Optional[float]:
    found = [v for v in values if v is not None]
    return statistics.stdev(found) if len(found) > 1 else None


def _figure(report: Dict[str, Any], phenomena: Optional[Dict[str, Any]], where: str) -> Optional[float]:
    if where.startswith("phenomena:"):
        tag = where.split(":", 1)[1]
        return ((phenomena or {}).get("with_image", {}).get(tag) or {}).get("grounding_acc")
    return report.get(where)


def find_runs(metrics_dir: Path, prefix: str) -> List[Path]:
    """The evaluation reports `{prefix}_s{seed}.json` of a variant, by seed."""
    pattern = re.compile(re.escape(prefix) + r"_s(\d+)\.json$")
    runs = [(int(m.group(1)), p) for p in Path(metrics_dir).glob(f"{prefix}_s*.json") if (m := pattern.match(p.name))]
    return [p for _, p in sorted(runs)]


def _read(path: Path) -> Dict[str, Any]:
    try:
        data = srsly.read_json(path)
    except ValueError as err:
        raise DataFormatError(Errors.E708.format(path=path, error=err)) from err
    if not isinstance(data, dict):
        raise DataFormatError(Errors.E723.format(path=path, type=type(data).__name__))
    return data


def summarize_variants(metrics_dir: Path, variants: Dict[str, str], baseline: str) -> Dict[str, Any]:
    """Per variant (name -> file prefix in `metrics_dir`): the mean of each
    `SUMMARY_KEYS` figure over its seeds (`{prefix}_s{seed}.json`, with the
    phenomena in `{prefix}_s{seed}_phenomena.json` when present), the
    per-seed values and, for all but `baseline`, the difference of the means
    from the baseline's."""
    summary: Dict[str, Any] = {"baseline": baseline, "variants": {}}
    for name, prefix in variants.items():
        paths = find_runs(metrics_dir, prefix)
        if not paths:
            raise DataFormatError(Errors.E760.format(prefix=prefix, path=metrics_dir, name=name))
        per_seed: Dict[str, List[Optional[float]]] = {key: [] for key, _ in SUMMARY_KEYS}
        for path in paths:
            report = _read(path)
            phen_path = path.with_name(path.stem + "_phenomena.json")
            phenomena = _read(phen_path) if phen_path.is_file() else None
            for key, where in SUMMARY_KEYS:
                per_seed[key].append(_figure(report, phenomena, where))
        summary["variants"][name] = {
            "seeds": [p.stem.rsplit("_s", 1)[1] for p in paths],
            "mean": {key: _mean(values) for key, values in per_seed.items()},
            "std": {key: _std(values) for key, values in per_seed.items()},
            "per_seed": per_seed,
        }
    if baseline not in summary["variants"]:
        raise DataFormatError(Errors.E761.format(baseline=baseline, names=sorted(variants)))
    base = summary["variants"][baseline]["mean"]
    for name, variant in summary["variants"].items():
        variant["delta"] = {
            key: (value - base[key]) if value is not None and base[key] is not None else None
            for key, value in variant["mean"].items()
        }
    return summary


FOLD_METRICS = ("conll", "muc", "b3", "ceafe", "blanc", "lea")
"""The coreference F1s a cross-validation summary keeps, per fold."""


def _coref_f1s(report: Dict[str, Any]) -> Dict[str, Optional[float]]:
    coref = report.get("coref") or {}
    return {name: report.get("coref_conll_f") if name == "conll" else (coref.get(name) or {}).get("f")
            for name in FOLD_METRICS}


def summarize_folds(metrics_dir: Path, prefix: str) -> Dict[str, Any]:
    """The evaluation reports `{prefix}_s{k}.json` of the folds of a
    cross-validation (each on its own test part, with the string-match
    baseline on the same mentions): per fold and as means over the folds,
    the model's and the baseline's coreference F1s (`FOLD_METRICS`), and the
    model's margin over the baseline; where the reports score grounding by
    detector label, each fold's "label_grounding" and its accuracies' means."""
    paths = find_runs(metrics_dir, prefix)
    if not paths:
        raise DataFormatError(Errors.E764.format(pattern=f"{prefix}_s<k>.json", path=metrics_dir))
    folds = []
    for path in paths:
        report = _read(path)
        baseline = (report.get("baselines") or {}).get("string_match")
        if not baseline:
            raise DataFormatError(Errors.E765.format(path=path))
        fold = {
            "fold": path.stem.rsplit("_s", 1)[1], "n_docs": report.get("n_docs"),
            "protocol": report.get("protocol"), "model": _coref_f1s(report), "string_match": _coref_f1s(baseline),
        }
        if report.get("label_grounding"):
            fold["label_grounding"] = report["label_grounding"]
        folds.append(fold)
    mean = {system: {name: _mean([fold[system][name] for fold in folds]) for name in FOLD_METRICS}
            for system in ("model", "string_match")}
    margin = {name: (mean["model"][name] - mean["string_match"][name])
              if mean["model"][name] is not None and mean["string_match"][name] is not None else None
              for name in FOLD_METRICS}
    summary = {"folds": folds, "n_docs": sum(fold["n_docs"] or 0 for fold in folds), "mean": mean, "margin": margin,
               "margin_std": _std([fold["model"]["conll"] - fold["string_match"]["conll"] for fold in folds])}
    by_label = [fold["label_grounding"] for fold in folds if "label_grounding" in fold]
    if by_label:
        summary["label_grounding"] = {
            system: {key: _mean([scores[system].get(key) for scores in by_label if scores.get(system)])
                     for _, key, _ in LABEL_GROUNDING_ROWS}
            for system in by_label[0]
        }
    return summary


def single_region_ceiling(docs: Iterable[Doc], prefix: str = CLUSTER_PREFIX) -> Optional[float]:
    """The best grounding accuracy a model that grounds each mention to one
    detected region can reach on `docs` (gold clusters with boxes, and
    `doc._.image_regions`): per gold mention, the most of its gold boxes one
    region matches (IoU >= the evaluation threshold, inclusive pixels), over
    all gold boxes. A mention with several gold boxes ("two men") can be
    right for one of them only, unless its boxes overlap. None when there is
    no gold box."""
    return region_ceilings(docs, prefix)["single_region"]


def region_ceilings(docs: Iterable[Doc], prefix: str = CLUSTER_PREFIX) -> Dict[str, Optional[float]]:
    """The best grounding accuracy reachable on `docs` with the detected
    regions: "single_region", one region per mention (`single_region_ceiling`),
    and "several_regions", any number of regions per mention, each matched to
    one gold box (`mcr_spacy.scoring.metrics.matched_boxes`). None when there
    is no gold box."""
    single = several = total = 0
    for doc in docs:
        regions = doc._.image_regions
        for cluster in get_clusters(doc, prefix):
            for span in cluster:
                boxes = (span._.grounding or {}).get("boxes") if isinstance(span._.grounding, dict) else None
                if not boxes:
                    continue
                boxes = numpy.asarray(list(boxes), dtype="float32").reshape((-1, 4))
                total += len(boxes)
                if regions is not None and len(regions):
                    hits = box_iou(regions.boxes, boxes, inclusive=True) >= IOU_THRESHOLD
                    best_one = int(hits.sum(axis=1).max())
                    rows, cols = linear_sum_assignment(hits.astype("float64"), maximize=True)
                    single += best_one
                    several += max(best_one, int(hits[rows, cols].sum()))
    if not total:
        return {"single_region": None, "several_regions": None}
    return {"single_region": single / total, "several_regions": several / total}
