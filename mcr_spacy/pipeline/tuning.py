"""Choosing the clustering threshold (and linkage) on development data."""
from typing import Dict, List, Sequence, Tuple

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
