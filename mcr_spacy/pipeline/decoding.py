"""From the model's outputs to predictions: pairwise coreference scores,
clusters, each mention's region and refined box."""
import math
import numbers
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
from scipy.special import logit, softmax
from spacy.tokens import Doc, Span

from ..annotation.boxes import apply_deltas_many
from ..defaults import MASKED_SCORE
from ..annotation.extensions import get_doc_values
from ..annotation.gold import doc_name
from ..annotation.mention_attributes import referent_count
from ..annotation.regions import ImageRegions
from ..errors import ConfigError, Errors, MultimodalCorefError
from ..ml.model import CorefOutputs


# Above this many mentions in a doc, transitive clustering uses connected
# components rather than batched reachability squaring.
LARGE_DOC_MENTIONS = 256


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            # The smaller index is the root: results do not depend on pair order.
            self.parent[max(a, b)] = min(a, b)

    def groups(self) -> List[List[int]]:
        """The sets as sorted index lists, ordered by their first index."""
        found: Dict[int, List[int]] = {}
        for i in range(len(self.parent)):
            found.setdefault(self.find(i), []).append(i)
        return list(found.values())


def cluster_transitive(scores: numpy.ndarray, threshold: float) -> List[List[int]]:
    """Join every pair with score > threshold, transitively: the connected
    components of the thresholded graph. Returns clusters as sorted index
    lists, ordered by their first mention."""
    return cluster_transitive_many(numpy.asarray(scores)[None], [scores.shape[0]], threshold)[0]


def cluster_transitive_many(
    scores: numpy.ndarray, lengths: Sequence[int], threshold: float
) -> List[List[List[int]]]:
    """`cluster_transitive` for many docs at once: `scores` is [D, M, M], doc
    d's mentions are its first `lengths[d]` rows and columns (the rest is
    padding). Reachability of all docs' graphs is squared (batched matrix
    products) until it stops growing; a mention's cluster is named by the
    first mention it reaches. Batches with docs of more than
    `LARGE_DOC_MENTIONS` mentions go doc by doc through SciPy's connected
    components instead (squaring grows as n^3)."""
    n_docs, n_slots = scores.shape[:2]
    if n_slots == 0:
        return [[] for _ in range(n_docs)]
    if n_slots > LARGE_DOC_MENTIONS:
        return [_connected_components(numpy.asarray(scores[d, :n, :n]) > threshold) for d, n in enumerate(lengths)]
    lengths = numpy.asarray(lengths, dtype="int64")
    real = numpy.arange(n_slots)[None, :] < lengths[:, None]  # [D, M]
    linked = (numpy.asarray(scores) > threshold) & real[:, :, None] & real[:, None, :]
    linked |= linked.transpose(0, 2, 1)
    linked |= numpy.eye(n_slots, dtype="bool")
    while True:
        grown = numpy.matmul(linked.astype("float32"), linked.astype("float32")) > 0
        if numpy.array_equal(grown, linked):
            break
        linked = grown
    labels = linked.argmax(axis=2)
    clusters = []
    for d, n in enumerate(lengths.tolist()):
        # Clusters appear in the order of their first mention.
        groups: dict = {}
        for i, label in enumerate(labels[d, :n].tolist()):
            groups.setdefault(label, []).append(i)
        clusters.append(list(groups.values()))
    return clusters


def _connected_components(linked: numpy.ndarray) -> List[List[int]]:
    """The connected components of a graph given as a boolean [n, n] matrix,
    as sorted index lists ordered by their first index."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    _, labels = connected_components(csr_matrix(linked), directed=False)
    groups: Dict[int, List[int]] = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(i)
    return list(groups.values())


def cluster_average_linkage(scores: numpy.ndarray, threshold: float) -> List[List[int]]:
    """Agglomerative clustering: repeatedly merge the two clusters with the
    highest mean pairwise score while it is above threshold. Runs as SciPy's
    average linkage (UPGMA, O(n^2)) on the distances `top - score`, cut below
    `top - threshold`. A NaN score never joins its pair (it counts as the
    lowest score). Clusters as sorted index lists, ordered by their first
    mention."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = scores.shape[0]
    if n < 2:
        return [[i] for i in range(n)]
    upper = numpy.asarray(scores, dtype="float64")[numpy.triu_indices(n, k=1)]
    finite = numpy.isfinite(upper)
    if not finite.any() or not numpy.isfinite(threshold):
        return [[i] for i in range(n)]
    top = max(float(upper[finite].max()), float(threshold))
    low = min(float(upper[finite].min()), float(threshold))
    # NaN and -inf: farther than any real pair; +inf: as near as the nearest.
    upper = numpy.nan_to_num(upper, nan=low - 1.0, neginf=low - 1.0, posinf=top)
    tree = linkage(top - upper, method="average")
    # Merge heights only grow in average linkage: the merges above the
    # threshold are those below the cut (strictly: a mean equal to the
    # threshold does not merge).
    cut = numpy.nextafter(top - float(threshold), -numpy.inf)
    labels = fcluster(tree, cut, criterion="distance") if cut >= 0 else numpy.arange(n)
    groups: Dict[int, List[int]] = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(i)
    return list(groups.values())


CLUSTERERS = {"transitive": cluster_transitive, "average": cluster_average_linkage}


def check_clustering_settings(linkage: Any, threshold: Any, where: str = "config") -> None:
    """Refuse an unknown `linkage` (E100) and a `threshold` that is not a
    finite number (E141), naming `where` they come from."""
    if not isinstance(linkage, str) or linkage not in CLUSTERERS:
        raise ConfigError(f"{Errors.E100.format(options=sorted(CLUSTERERS), linkage=linkage)} (in {where})")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not math.isfinite(threshold):
        raise ConfigError(f"{Errors.E141.format(value=threshold)} (in {where})")


def cluster_by_antecedents(scores: numpy.ndarray, threshold: float) -> List[List[int]]:
    """Mention-ranking decoding: `scores` [n, n] of each mention (row) against
    each earlier mention (column; others a large negative value), the "new
    entity" dummy scoring 0. A mention joins the entity of its best antecedent
    when `sigmoid(score) > threshold` (0.5: when it beats the dummy), else
    starts one. Clusters in order of their first mention."""
    n = scores.shape[0]
    uf = UnionFind(n)
    if n > 1:
        best = scores.argmax(axis=1)
        linked = scores[numpy.arange(n), best] > logit(numpy.clip(threshold, 0.0, 1.0))
        for i in numpy.nonzero(linked)[0].tolist():
            uf.union(i, int(best[i]))
    return uf.groups()


def doc_antecedent_scores(scores: numpy.ndarray, n: int, chunk: int) -> numpy.ndarray:
    """A doc's mention-ranking scores `[n, n]` from its rows of
    `CorefOutputs.antecedent_scores` (`[n, M + 1]`, mention k in slot
    k % chunk of row k // chunk): mentions in different rows are never
    candidates (a large negative score)."""
    out = numpy.full((n, n), MASKED_SCORE, dtype="float32")
    if n == 0:
        return out
    within = numpy.arange(n)
    rows, cols = numpy.nonzero((within[:, None] // chunk == within[None, :] // chunk) & (within[None, :] < within[:, None]))
    out[rows, cols] = scores[rows, 1 + cols % chunk]
    return out


def cluster_many(linkage: str, scores: numpy.ndarray, lengths: Sequence[int], threshold: float) -> List[List[List[int]]]:
    """The clusters of many docs with `linkage`: `scores` is [D, M, M], doc
    d's mentions its first `lengths[d]` rows and columns. Transitive linkage
    runs on all docs at once; the others doc by doc."""
    if linkage == "transitive":
        return cluster_transitive_many(scores, lengths, threshold)
    return [CLUSTERERS[linkage](scores[d, :n, :n], threshold) for d, n in enumerate(lengths)]


@dataclass
class DocPrediction:
    """What the model says about one doc's mentions."""

    mentions: List[Tuple[int, int]]
    clusters: List[List[int]]
    similarities: numpy.ndarray
    # Per mention: {"region", "box", "score", "refined_box"} (`span._.grounding`).
    groundings: List[Dict[str, Any]]
    # Mention-ranking scores [n, n] (models with an antecedent scorer), else None.
    antecedent_scores: Optional[numpy.ndarray] = None


def grounding_probs(logits: numpy.ndarray, dtype: str = "float64") -> numpy.ndarray:
    """Softmax of grounding logits [N, R + 1] over "no region" and the regions."""
    return softmax(numpy.asarray(logits, dtype=dtype), axis=1)


def batch_similarities(
    embeddings: numpy.ndarray, probs: numpy.ndarray, lengths: Sequence[int],
    n_regions: Sequence[int], agreement_weight: float,
) -> numpy.ndarray:
    """Pairwise coreference scores of every doc of a batch at once (see
    `similarities`): [D, M, M], doc d's scores in its first `lengths[d]`
    rows and columns."""
    n_docs, n_slots = len(lengths), max(lengths, default=0)
    doc_of = numpy.repeat(numpy.arange(n_docs), lengths)
    position = numpy.arange(len(doc_of)) - (numpy.cumsum(lengths) - lengths)[doc_of]
    padded = numpy.zeros((n_docs, n_slots, embeddings.shape[1]), dtype=embeddings.dtype)
    padded[doc_of, position] = embeddings
    sim = numpy.matmul(padded, padded.transpose(0, 2, 1))
    if agreement_weight and probs.shape[1] > 1:
        # Regions past a doc's own have probability 0: the product over
        # the batch's padded columns is the doc's own.
        grounded = numpy.zeros((n_docs, n_slots, probs.shape[1] - 1), dtype=probs.dtype)
        grounded[doc_of, position] = probs[:, 1:]
        with_regions = numpy.asarray(n_regions) > 0
        keep = numpy.where(with_regions, 1.0 - agreement_weight, 1.0).astype(sim.dtype)[:, None, None]
        mix = numpy.where(with_regions, agreement_weight, 0.0)[:, None, None]
        sim = keep * sim + mix * numpy.matmul(grounded, grounded.transpose(0, 2, 1))
    return sim


def similarities(embeddings: numpy.ndarray, probs: numpy.ndarray, agreement_weight: float) -> numpy.ndarray:
    """Pairwise coreference scores of one doc's mentions: embedding cosine
    mixed (by `agreement_weight`) with the probability of being grounded to
    the same region (`probs` over "no region" and the doc's regions). A doc
    without regions has nothing to agree on: its scores are the cosines."""
    return batch_similarities(embeddings, probs, [len(embeddings)], [probs.shape[1] - 1], agreement_weight)[0]


def ground_mentions(
    regions: Sequence[Optional[ImageRegions]], lengths: Sequence[int],
    probs: numpy.ndarray, deltas: numpy.ndarray,
    multi_region_ratio: Optional[float] = None, counts: Optional[Sequence[Optional[int]]] = None,
) -> List[Dict[str, Any]]:
    """Every mention's grounding (mentions of all docs in order): its most
    probable slot, the region's box and the box refined by the mention's
    deltas, or no region when "no region" wins.

    multi_region_ratio: None grounds each mention to one region. A number
        also writes "regions", "boxes" and "refined_boxes" (lists, most
        probable first; empty without a region): a mention whose `counts`
        entry is not 1 (a plural: its number, or None when unknown) gets
        every region at least `multi_region_ratio` times as probable as its
        best one and more probable than "no region", at most its number of
        them; the others get their one region. "region", "box", "score" and
        "refined_box" stay those of the best region."""
    n = probs.shape[0]
    best = probs.argmax(axis=1) if n else numpy.zeros((0,), dtype="int64")
    scores = probs[numpy.arange(n), best].tolist()
    doc_of = numpy.repeat(numpy.arange(len(regions)), lengths)
    grounded = numpy.nonzero(best > 0)[0]
    slots = best - 1  # -1: no region
    boxes = numpy.zeros((n, 4), dtype="float64")
    refined = numpy.zeros((n, 4), dtype="float64")
    table = _RegionTable(regions) if len(grounded) else None
    if table is not None:
        boxes[grounded], refined[grounded] = table.boxes(doc_of[grounded], slots[grounded], deltas[grounded])
    groundings = [
        {"region": slot, "box": box, "score": score, "refined_box": ref}
        if slot >= 0
        else {"region": None, "box": None, "score": score, "refined_box": None}
        for slot, box, ref, score in zip(slots.tolist(), boxes.tolist(), refined.tolist(), scores)
    ]
    if multi_region_ratio is not None:
        _add_region_lists(groundings, table, doc_of, probs, deltas, multi_region_ratio, counts)
    return groundings


class _RegionTable:
    """Every doc's region boxes in one table: slot s of doc d is row
    first_box[d] + s, and its image size that of its doc."""

    def __init__(self, regions: Sequence[Optional[ImageRegions]]) -> None:
        counts = [0 if r is None else len(r) for r in regions]
        self.first_box = numpy.cumsum([0] + counts[:-1])
        with_regions = [r.boxes for r in regions if r is not None and len(r)]
        self.all_boxes = numpy.concatenate(with_regions).astype("float64") if with_regions else numpy.zeros((0, 4))
        self.doc_sizes = numpy.asarray([(1.0, 1.0) if r is None else r.image_size for r in regions], dtype="float64")

    def boxes(self, docs: numpy.ndarray, slots: numpy.ndarray, deltas: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The boxes of region `slots` of `docs`, and those boxes refined by `deltas`."""
        found = self.all_boxes[self.first_box[docs] + slots]
        return found, apply_deltas_many(found, deltas, self.doc_sizes[docs])


def _add_region_lists(
    groundings: List[Dict[str, Any]], table: Optional[_RegionTable], doc_of: numpy.ndarray,
    probs: numpy.ndarray, deltas: numpy.ndarray, ratio: float, counts: Optional[Sequence[Optional[int]]],
) -> None:
    """Add "regions", "boxes" and "refined_boxes" to each grounding (see
    `ground_mentions`)."""
    region_probs = probs[:, 1:]
    best = region_probs.max(axis=1, initial=0.0) if region_probs.size else numpy.zeros((len(groundings),))
    keep = (region_probs >= ratio * best[:, None]) & (region_probs > probs[:, :1])
    for i, grounding in enumerate(groundings):
        if grounding["region"] is None:
            grounding.update(regions=[], boxes=[], refined_boxes=[])
            continue
        count = 1 if counts is None else counts[i]
        chosen = [grounding["region"]]
        if count != 1:
            others = [int(r) for r in numpy.nonzero(keep[i])[0] if r != grounding["region"]]
            others.sort(key=lambda r: -region_probs[i, r])
            chosen += others[: None if count is None else max(count - 1, 0)]
        if len(chosen) == 1:
            grounding.update(regions=chosen, boxes=[grounding["box"]], refined_boxes=[grounding["refined_box"]])
            continue
        slots = numpy.asarray(chosen)
        found, refined = table.boxes(numpy.full(len(slots), doc_of[i]), slots, numpy.repeat(deltas[i : i + 1], len(slots), axis=0))
        grounding.update(regions=chosen, boxes=found.tolist(), refined_boxes=refined.tolist())


def check_multi_region_ratio(value: Any, where: str = "config") -> None:
    """Refuse (E780) a `multi_region_ratio` that is neither None nor a number
    in (0, 1]."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value <= 1.0:
        raise ConfigError(Errors.E780.format(value=value, where=where))


def cluster_counts(counts: Sequence[Optional[int]], clusters: Sequence[Sequence[int]]) -> List[Optional[int]]:
    """A doc's mention `counts` (see `mention_counts`) where a plural of
    unknown count ("they") takes the number of its cluster's first mention
    that gives one ("two boys ... they")."""
    found = list(counts)
    for cluster in clusters:
        numbers = [counts[j] for j in cluster if counts[j] is not None and counts[j] > 1]
        if numbers:
            for j in cluster:
                if found[j] is None:
                    found[j] = numbers[0]
    return found


def mention_counts(docs: Sequence[Doc], mentions: Sequence[Sequence[Tuple[int, int]]]) -> List[Optional[int]]:
    """How many things each mention (of all docs, in order) refers to: see
    `referent_count`."""
    return [referent_count(Span(doc, start, end)) for doc, spans in zip(docs, mentions) for start, end in spans]


def check_finite_outputs(docs: Sequence[Doc], outputs: CorefOutputs, embeddings: numpy.ndarray, ops: Any) -> None:
    """Refuse (E140, naming the first doc) mention rows whose embeddings,
    grounding logits, box deltas or antecedent scores are not finite: a NaN
    compares as "no merge" but would still reach the docs' groundings."""
    rows_ok = numpy.isfinite(embeddings).all(axis=1)
    for array in (outputs.ground_logits, outputs.box_deltas, outputs.antecedent_scores):
        values = ops.to_numpy(array)
        if values.shape[0] == rows_ok.shape[0] and values.size:
            rows_ok &= numpy.isfinite(values.reshape((values.shape[0], -1))).all(axis=1)
    if rows_ok.all():
        return
    for doc, rows in zip(docs, outputs.doc_slices()):
        if not rows_ok[rows].all():
            raise MultimodalCorefError(Errors.E140.format(doc=doc_name(doc)))


def decode(
    docs: List[Doc], mentions: List[List[Tuple[int, int]]], outputs: CorefOutputs, ops: Any,
    linkage: str, threshold: float, agreement_weight: float, chunk: int,
    multi_region_ratio: Optional[float] = None,
) -> List[DocPrediction]:
    """The predictions of a batch of docs from the model's outputs on their
    `mentions`: groundings (plural mentions to several regions with a
    `multi_region_ratio`, see `ground_mentions`), pairwise scores, and
    clusters by best antecedent (models with an antecedent scorer) or by
    `linkage` over the pairwise cosine scores."""
    embeddings = ops.to_numpy(outputs.embeddings)
    check_finite_outputs(docs, outputs, embeddings, ops)
    # Padded region slots hold a large negative logit: their probability
    # is 0, so one softmax over the batch equals each doc's own.
    probs = grounding_probs(ops.to_numpy(outputs.ground_logits), dtype="float32")
    regions = get_doc_values(docs, "image_regions")
    sims = batch_similarities(embeddings, probs, outputs.lengths, outputs.n_regions, agreement_weight)
    ranking = outputs.antecedent_scores.shape[1] > 0
    if ranking:
        antecedents = ops.to_numpy(outputs.antecedent_scores)
        ranked = [doc_antecedent_scores(antecedents[rows], rows.stop - rows.start, chunk) for rows in outputs.doc_slices()]
        clusters = [cluster_by_antecedents(scores, threshold) for scores in ranked]
    else:
        clusters = cluster_many(linkage, sims, outputs.lengths, threshold)
    counts = None
    if multi_region_ratio is not None:
        counts = [
            count for doc, doc_mentions, doc_clusters in zip(docs, mentions, clusters)
            for count in cluster_counts(mention_counts([doc], [doc_mentions]), doc_clusters)
        ]
    groundings = ground_mentions(
        regions, outputs.lengths, probs, ops.to_numpy(outputs.box_deltas), multi_region_ratio, counts
    )
    predictions = []
    for i, (doc_mentions, rows) in enumerate(zip(mentions, outputs.doc_slices())):
        n = len(doc_mentions)
        predictions.append(DocPrediction(
            doc_mentions, clusters[i], sims[i, :n, :n], groundings[rows], ranked[i] if ranking else None
        ))
    return predictions


def cluster_grounding(groundings: List[Dict[str, Any]]) -> Dict[str, Any]:
    """A cluster's grounding: that of its most confident mention grounded to a
    region, or of its most confident mention when none is. When its mentions
    have region lists (`multi_region_ratio`) and one of them has several
    regions, "regions", "boxes" and "refined_boxes" are those of the most
    confident such mention (the cluster refers to several things)."""
    grounded = [g for g in groundings if g["region"] is not None]
    pool = grounded or groundings
    found = dict(max(pool, key=lambda g: g["score"]))
    several = [g for g in grounded if len(g.get("regions") or ()) > 1]
    if several:
        lists = max(several, key=lambda g: g["score"])
        found.update({key: lists[key] for key in ("regions", "boxes", "refined_boxes")})
    return found
