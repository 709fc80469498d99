"""Choosing the clustering threshold (and linkage), and the share of the best
region's probability that grounds a plural mention to several regions, on
development data."""
from typing import Dict, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.training import Example

from ..annotation.clusters import get_clusters
from ..errors import ConfigError, Errors
from .component import find_coref_component


def tune_threshold(
    nlp: Language,
    examples: Sequence[Example],
    thresholds: Sequence[float],
    linkages: Sequence[str] = ("transitive", "average"),
    metric: str = "coref_conll_f",
) -> Tuple[Dict[str, float], List[Dict[str, float]]]:
    """Score every (linkage, threshold) on the examples and set the best on the
    component. The model runs once; only the clustering is redone. RETURNS the
    best setting and the table of all. Refuses (ConfigError) examples without
    gold clusters: every setting would score the same."""
    name, coref = find_coref_component(nlp)
    if not thresholds:
        raise ConfigError(Errors.E146)
    if not examples:
        raise ConfigError(Errors.E145.format(prefix=coref.prefix, reason="there are no examples"))
    if not any(get_clusters(eg.reference, coref.prefix) for eg in examples):
        reason = f"none of the {len(examples)} examples has any"
        raise ConfigError(Errors.E145.format(prefix=coref.prefix, reason=reason))
    with nlp.select_pipes(disable=[name]):
        predicted = list(nlp.pipe([eg.predicted for eg in examples]))
    predictions = coref.predict(predicted)
    table = []
    saved = (coref.cfg["threshold"], coref.cfg["linkage"])
    for linkage in linkages:
        for threshold in thresholds:
            coref.cfg["threshold"], coref.cfg["linkage"] = float(threshold), linkage
            for doc, pred in zip(predicted, predictions):
                pred.clusters = coref.cluster(pred)
            coref.set_annotations(predicted, predictions)
            scores = coref.score([Example(doc, eg.reference) for doc, eg in zip(predicted, examples)])
            table.append({"linkage": linkage, "threshold": float(threshold), metric: float(scores[metric] or 0.0)})
    coref.cfg["threshold"], coref.cfg["linkage"] = saved
    best = max(table, key=lambda row: (row[metric], -abs(row["threshold"] - saved[0])))
    coref.cfg["threshold"], coref.cfg["linkage"] = best["threshold"], best["linkage"]
    nlp.config["components"][name]["threshold"] = best["threshold"]
    nlp.config["components"][name]["linkage"] = best["linkage"]
    return best, table


# The multi_region_ratio values tune_multi_region_ratio tries.
MULTI_REGION_RATIOS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)


def _box_f(acc: Optional[float], precision: Optional[float]) -> float:
    """The harmonic mean of grounding accuracy (the share of gold boxes found)
    and box precision (the share of predicted boxes right)."""
    if not acc or not precision:
        return 0.0
    return 2 * acc * precision / (acc + precision)


def tune_multi_region_ratio(
    nlp: Language, examples: Sequence[Example], ratios: Sequence[float] = MULTI_REGION_RATIOS,
) -> Tuple[Optional[Dict[str, float]], List[Dict[str, float]]]:
    """When the component grounds plural mentions to several regions (its
    `multi_region_ratio` is set), score every ratio on the examples and set
    the one with the best harmonic mean of grounding accuracy and box
    precision (ties: the larger ratio, fewer boxes), so that more boxes only
    win when they are right. RETURNS the best row (None when the setting is
    off or the examples have no gold boxes) and the table of all."""
    from ..scoring.scorer import evaluate_examples

    name, coref = find_coref_component(nlp)
    if coref.cfg.get("multi_region_ratio") is None or not examples:
        return None, []
    with nlp.select_pipes(disable=[name]):
        predicted = list(nlp.pipe([eg.predicted for eg in examples]))
    saved = coref.cfg["multi_region_ratio"]
    table = []
    for ratio in ratios:
        coref.cfg["multi_region_ratio"] = float(ratio)
        docs = [doc.copy() for doc in predicted]
        coref.set_annotations(docs, coref.predict(docs))
        grounding = evaluate_examples(
            [Example(doc, eg.reference) for doc, eg in zip(docs, examples)], span_cluster_prefix=coref.prefix,
            mentions_key=coref.cfg["mentions_key"],
        )["grounding"]
        table.append({
            "multi_region_ratio": float(ratio), "grounding_acc": grounding["acc"],
            "box_precision": grounding["box_precision"], "box_f": _box_f(grounding["acc"], grounding["box_precision"]),
        })
    if all(row["grounding_acc"] is None for row in table):
        coref.cfg["multi_region_ratio"] = saved
        return None, table
    best = max(table, key=lambda row: (round(row["box_f"], 12), row["multi_region_ratio"]))
    coref.cfg["multi_region_ratio"] = best["multi_region_ratio"]
    nlp.config["components"][name]["multi_region_ratio"] = best["multi_region_ratio"]
    return best, table
