"""Coreference and grounding metrics (the registered scorer, which reads them
from docs, is in `mcr_spacy.scoring.scorer`).

Coreference metrics (MUC, B³, CEAF-m, CEAF-e, BLANC, LEA and the CoNLL average)
are pooled over a corpus the way the official CoNLL reference scorer (v8.01)
pools them: every document contributes the numerators and denominators of its
recall and precision, and the corpus figures are ratios of the sums (BLANC sums
its link counts). This differs from averaging per-document scores, which is
what scorch's command line does (see `mcr_spacy.scoring.scorch_export`). scorch's
metric functions return only per-document ratios, so the counts are computed
here (exact fractions; CEAF's alignment with SciPy's Kuhn-Munkres, as scorch
does); on single documents they agree with scorch wherever scorch follows the
reference scorer (the tests check both).

Mentions are any hashable ids (token offsets, character offsets...). A mention
present on one side only counts as the reference scorer counts it: a key
mention the response missed lowers recall, a response mention absent from the
key lowers precision, singletons included. A mention listed in more than one
cluster of the same side is kept in its first cluster only (the reference
scorer drops repeated response mentions the same way).
"""
from collections import Counter, defaultdict
from fractions import Fraction
from typing import Any, Callable, Dict, Hashable, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy
from scipy.optimize import linear_sum_assignment

from ..annotation.boxes import box_iou
from ..defaults import GROUNDING_PRONOUNS, IOU_THRESHOLD
from ..errors import Errors

MentionId = Hashable
Clusters = Sequence[Iterable[MentionId]]
Offsets = Tuple[int, int]
Box = Sequence[float]

# --------------------------------------------------------------------------
# Coreference: per-document counts


def _normalize(clusters: Clusters) -> List[List[MentionId]]:
    """Clusters as lists, without empty clusters and without repeated mentions
    (a mention already seen stays in its first cluster)."""
    seen = set()
    result = []
    for cluster in clusters:
        kept = []
        for mention in cluster:
            if mention not in seen:
                seen.add(mention)
                kept.append(mention)
        if kept:
            result.append(kept)
    return result


class _Contingency:
    """Overlap counts between the key and response clusters of one document."""

    def __init__(self, key: Clusters, response: Clusters) -> None:
        self.key = _normalize(key)
        self.response = _normalize(response)
        self.key_of = {m: i for i, c in enumerate(self.key) for m in c}
        self.resp_of = {m: j for j, c in enumerate(self.response) for m in c}
        self.cells: Counter = Counter()
        for m, i in self.key_of.items():
            j = self.resp_of.get(m)
            if j is not None:
                self.cells[(i, j)] += 1
        self.key_sizes = [len(c) for c in self.key]
        self.resp_sizes = [len(c) for c in self.response]


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _muc_counts(t: _Contingency) -> Tuple[int, int, int, int]:
    # |k| - |p(k, R)| summed over k equals (mentions in both) - (non-empty
    # key/response intersections); the same number is the precision numerator.
    common = sum(t.cells.values())
    correct = common - len(t.cells)
    key_links = sum(n - 1 for n in t.key_sizes)
    resp_links = sum(n - 1 for n in t.resp_sizes)
    return correct, key_links, correct, resp_links


def _b3_counts(t: _Contingency) -> Tuple[Fraction, int, Fraction, int]:
    r_num = sum((Fraction(n * n, t.key_sizes[i]) for (i, _), n in t.cells.items()), Fraction(0))
    p_num = sum((Fraction(n * n, t.resp_sizes[j]) for (_, j), n in t.cells.items()), Fraction(0))
    return r_num, sum(t.key_sizes), p_num, sum(t.resp_sizes)


def _best_alignment(t: _Contingency, similarity: Callable[[int, int, int], Fraction]) -> Fraction:
    """Total similarity of the best one-to-one alignment of key to response
    clusters (Kuhn-Munkres); pairs without common mentions score 0."""
    if not t.cells:
        return Fraction(0)
    sims = {(i, j): similarity(n, t.key_sizes[i], t.resp_sizes[j]) for (i, j), n in t.cells.items()}
    rows = sorted({i for i, _ in sims})
    cols = sorted({j for _, j in sims})
    if len(rows) == 1 or len(cols) == 1:
        return max(sims.values())
    import numpy
    from scipy.optimize import linear_sum_assignment

    row_pos = {i: a for a, i in enumerate(rows)}
    col_pos = {j: b for b, j in enumerate(cols)}
    matrix = numpy.zeros((len(rows), len(cols)), dtype="float64")
    for (i, j), value in sims.items():
        matrix[row_pos[i], col_pos[j]] = float(value)
    row_ind, col_ind = linear_sum_assignment(matrix, maximize=True)
    return sum((sims.get((rows[a], cols[b]), Fraction(0)) for a, b in zip(row_ind, col_ind)), Fraction(0))


def _ceafm_counts(t: _Contingency) -> Tuple[Fraction, int, Fraction, int]:
    total = _best_alignment(t, lambda n, k, r: Fraction(n))
    return total, sum(t.key_sizes), total, sum(t.resp_sizes)


def _ceafe_counts(t: _Contingency) -> Tuple[Fraction, int, Fraction, int]:
    total = _best_alignment(t, lambda n, k, r: Fraction(2 * n, k + r))
    return total, len(t.key_sizes), total, len(t.resp_sizes)


def _lea_side(
    clusters: List[List[MentionId]], sizes: List[int], other_of: Dict[MentionId, int],
    other_sizes: List[int], cell_of: Callable[[int], Dict[int, int]],
) -> Tuple[Fraction, int]:
    num = Fraction(0)
    den = 0
    for i, cluster in enumerate(clusters):
        size = sizes[i]
        den += size
        if size == 1:
            # A singleton has one self-link, resolved when the mention is a
            # singleton on the other side too.
            j = other_of.get(cluster[0])
            resolved = Fraction(1) if j is not None and other_sizes[j] == 1 else Fraction(0)
        else:
            common = sum(_pairs(n) for n in cell_of(i).values())
            resolved = Fraction(common, _pairs(size))
        num += size * resolved
    return num, den


def _lea_counts(t: _Contingency) -> Tuple[Fraction, int, Fraction, int]:
    by_key: Dict[int, Dict[int, int]] = defaultdict(dict)
    by_resp: Dict[int, Dict[int, int]] = defaultdict(dict)
    for (i, j), n in t.cells.items():
        by_key[i][j] = n
        by_resp[j][i] = n
    r_num, r_den = _lea_side(t.key, t.key_sizes, t.resp_of, t.resp_sizes, lambda i: by_key.get(i, {}))
    p_num, p_den = _lea_side(t.response, t.resp_sizes, t.key_of, t.key_sizes, lambda j: by_resp.get(j, {}))
    return r_num, r_den, p_num, p_den


def _blanc_counts(t: _Contingency) -> Tuple[int, int, int, int, int, int]:
    """(correct coref links, key coref links, response coref links, correct
    non-coref links, key non-coref links, response non-coref links), with the
    links of Luo et al. (2014) that work for predicted mentions."""
    correct_c = sum(_pairs(n) for n in t.cells.values())
    key_c = sum(_pairs(n) for n in t.key_sizes)
    resp_c = sum(_pairs(n) for n in t.resp_sizes)
    key_n = _pairs(sum(t.key_sizes)) - key_c
    resp_n = _pairs(sum(t.resp_sizes)) - resp_c
    key_in_resp: Counter = Counter()
    resp_in_key: Counter = Counter()
    for (i, j), n in t.cells.items():
        key_in_resp[i] += n
        resp_in_key[j] += n
    common = sum(t.cells.values())
    # Pairs of common mentions, minus those linked in the key or in the response.
    correct_n = (
        _pairs(common)
        - sum(_pairs(n) for n in key_in_resp.values())
        - sum(_pairs(n) for n in resp_in_key.values())
        + correct_c
    )
    return correct_c, key_c, resp_c, correct_n, key_n, resp_n


# --------------------------------------------------------------------------
# Coreference: pooled figures


def _ratio(num: Any, den: Any) -> Fraction:
    return Fraction(num) / Fraction(den) if den else Fraction(0)


def _f1(r: Fraction, p: Fraction) -> Fraction:
    return 2 * p * r / (p + r) if p + r else Fraction(0)


def _rpf(r_num: Any, r_den: Any, p_num: Any, p_den: Any) -> Dict[str, float]:
    r = _ratio(r_num, r_den)
    p = _ratio(p_num, p_den)
    return {"r": float(r), "p": float(p), "f": float(_f1(r, p))}


def blanc_from_counts(
    correct_c: int, key_c: int, resp_c: int, correct_n: int, key_n: int, resp_n: int
) -> Dict[str, float]:
    """BLANC recall, precision and F from (pooled) link counts, with the
    reference scorer's edge cases: no key links at all gives 0; without key
    coreference links only the non-coreference part counts, and vice versa."""
    r_c, p_c = _ratio(correct_c, key_c), _ratio(correct_c, resp_c)
    r_n, p_n = _ratio(correct_n, key_n), _ratio(correct_n, resp_n)
    f_c, f_n = _f1(r_c, p_c), _f1(r_n, p_n)
    if key_c == 0 and key_n == 0:
        r = p = f = Fraction(0)
    elif key_c == 0:
        r, p, f = r_n, p_n, f_n
    elif key_n == 0:
        r, p, f = r_c, p_c, f_c
    else:
        r, p, f = (r_c + r_n) / 2, (p_c + p_n) / 2, (f_c + f_n) / 2
    return {"r": float(r), "p": float(p), "f": float(f)}


_COUNTERS = {
    "muc": _muc_counts,
    "b3": _b3_counts,
    "ceafm": _ceafm_counts,
    "ceafe": _ceafe_counts,
    "lea": _lea_counts,
}


def coref_counts(gold: Sequence[Clusters], predicted: Sequence[Clusters]) -> Dict[str, Tuple]:
    """The summed numerators and denominators of every metric over documents:
    `(recall_num, recall_den, precision_num, precision_den)` per metric, and the
    six link counts for "blanc"."""
    if len(gold) != len(predicted):
        raise ValueError(Errors.E301.format(what="Coreference metrics", n_gold=len(gold), n_predicted=len(predicted)))
    totals: Dict[str, List] = {name: [0, 0, 0, 0] for name in _COUNTERS}
    totals["blanc"] = [0] * 6
    for key, response in zip(gold, predicted):
        table = _Contingency(key, response)
        for name, counter in _COUNTERS.items():
            for k, value in enumerate(counter(table)):
                totals[name][k] += value
        for k, value in enumerate(_blanc_counts(table)):
            totals["blanc"][k] += value
    return {name: tuple(values) for name, values in totals.items()}


def coref_metrics(gold: Sequence[Clusters], predicted: Sequence[Clusters]) -> Dict[str, Any]:
    """Coreference metrics pooled over documents as the CoNLL reference scorer
    pools them.

    gold, predicted: one entry per document, each a list of clusters, each
        cluster an iterable of hashable mention ids (e.g. `(start, end)`).
    RETURNS: `{"muc": {"r", "p", "f"}, "b3": ..., "ceafm": ..., "ceafe": ...,
        "blanc": ..., "lea": ..., "conll_f": float}`, fractions in [0, 1].
    """
    counts = coref_counts(gold, predicted)
    result: Dict[str, Any] = {name: _rpf(*counts[name]) for name in ("muc", "b3", "ceafm", "ceafe")}
    result["blanc"] = blanc_from_counts(*counts["blanc"])
    result["lea"] = _rpf(*counts["lea"])
    result["conll_f"] = (result["muc"]["f"] + result["b3"]["f"] + result["ceafe"]["f"]) / 3
    return result


def mention_detection(gold: Sequence[Clusters], predicted: Sequence[Clusters]) -> Dict[str, float]:
    """Mention identification pooled over documents, as the reference scorer
    reports it: a predicted mention is right when the gold has the same id."""
    if len(gold) != len(predicted):
        raise ValueError(Errors.E301.format(what="Mention detection", n_gold=len(gold), n_predicted=len(predicted)))
    n_gold = n_pred = n_both = 0
    for key, response in zip(gold, predicted):
        key_mentions = {m for cluster in key for m in cluster}
        resp_mentions = {m for cluster in response for m in cluster}
        n_gold += len(key_mentions)
        n_pred += len(resp_mentions)
        n_both += len(key_mentions & resp_mentions)
    return _rpf(n_both, n_gold, n_both, n_pred)


# --------------------------------------------------------------------------
# Grounding


def box_iou_inclusive(a: Box, b: Box) -> float:
    """IoU of two `x1, y1, x2, y2` pixel boxes where a box covers pixels x1..x2
    (width `x2 - x1 + 1`), the convention of the grounding evaluation."""
    return float(box_iou([list(a)], [list(b)], inclusive=True)[0, 0])


def is_pronoun(text: str) -> bool:
    """Whether a mention counts as a pronoun in the grounding evaluation."""
    return text.strip().lower() in GROUNDING_PRONOUNS


def as_box_array(boxes: Any) -> numpy.ndarray:
    """One box, a list of boxes or None as a [n, 4] float array."""
    return numpy.asarray([] if boxes is None else boxes, dtype="float64").reshape((-1, 4))


def matched_boxes(predicted: Any, gold: Sequence[Box], threshold: float = IOU_THRESHOLD) -> Tuple[int, int]:
    """How many of a mention's `gold` boxes its `predicted` box(es) get right,
    and how many of its predicted boxes are used for it: a lone predicted box
    (one box, or a list of one) is right for every gold box it overlaps with
    IoU >= threshold (inclusive pixels), the rule of one region per mention;
    several predicted boxes (best first) are matched one to one to gold boxes
    (a maximum matching of the pairs with IoU >= threshold), and never count
    less than their first box alone. None or an empty list: nothing."""
    pred = as_box_array(predicted)
    gold = as_box_array(gold)
    if not len(pred) or not len(gold):
        return 0, 0
    hits = box_iou(pred, gold, inclusive=True) >= threshold
    first = int(hits[0].sum())
    if len(pred) == 1:
        return first, int(first > 0)
    rows, cols = linear_sum_assignment(hits.astype("float64"), maximize=True)
    matched = int(hits[rows, cols].sum())
    return (matched, matched) if matched > first else (first, int(first > 0))


def grounding_accuracy(
    gold: Sequence[Iterable[Tuple[MentionId, str, Sequence[Box]]]],
    predicted: Sequence[Mapping[MentionId, Any]],
    *,
    threshold: float = IOU_THRESHOLD,
) -> Dict[str, Any]:
    """Grounding accuracy over a corpus: each (gold mention, gold box) pair is
    correct when a predicted box of the mention has IoU >= threshold with it
    (inclusive pixels), each predicted box right for one gold box at most when
    a mention has several (`matched_boxes`). A gold mention without a
    predicted box (not predicted, or predicted without a box) is wrong for
    each of its boxes. Box precision: of the predicted boxes of the gold
    mentions counted, the share matched to a gold box.

    gold: per document, `(mention_id, mention_text, gold_boxes)` items; mentions
        without boxes are not counted.
    predicted: per document, `mention_id -> box, list of boxes (best first) or None`.
    RETURNS: `acc`, `acc_noun`, `acc_pronoun`, `box_precision` (None when
        there is nothing to count) and the counts `correct*`, `total*`,
        `boxes_matched`, `boxes_predicted`.
    """
    if len(gold) != len(predicted):
        raise ValueError(Errors.E301.format(what="Grounding accuracy", n_gold=len(gold), n_predicted=len(predicted)))
    counts = {"noun": [0, 0], "pronoun": [0, 0]}
    used = n_predicted = 0
    for doc_gold, doc_pred in zip(gold, predicted):
        for mention_id, text, boxes in doc_gold:
            if not boxes:
                continue
            kind = "pronoun" if is_pronoun(text) else "noun"
            pred = as_box_array(doc_pred.get(mention_id))
            right, matched = matched_boxes(pred, boxes, threshold)
            counts[kind][0] += right
            counts[kind][1] += len(boxes)
            used += matched
            n_predicted += len(pred)
    correct = counts["noun"][0] + counts["pronoun"][0]
    total = counts["noun"][1] + counts["pronoun"][1]
    return {
        "acc": correct / total if total else None,
        "acc_noun": counts["noun"][0] / counts["noun"][1] if counts["noun"][1] else None,
        "acc_pronoun": counts["pronoun"][0] / counts["pronoun"][1] if counts["pronoun"][1] else None,
        "box_precision": used / n_predicted if n_predicted else None,
        "correct": correct,
        "total": total,
        "correct_noun": counts["noun"][0],
        "total_noun": counts["noun"][1],
        "correct_pronoun": counts["pronoun"][0],
        "total_pronoun": counts["pronoun"][1],
        "boxes_matched": used,
        "boxes_predicted": n_predicted,
    }
