"""Clustering mentions from their pairwise coreference scores."""
from typing import List, Sequence

import numpy


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
    first mention it reaches."""
    n_docs, n_slots = scores.shape[:2]
    if n_slots == 0:
        return [[] for _ in range(n_docs)]
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


def cluster_average_linkage(scores: numpy.ndarray, threshold: float) -> List[List[int]]:
    """Agglomerative clustering: repeatedly merge the two clusters with the
    highest mean pairwise score while it is above threshold (ties: lowest indices)."""
    n = scores.shape[0]
    clusters = [[i] for i in range(n)]
    scores = numpy.asarray(scores, dtype="float64")
    sums = scores.copy()
    sizes = numpy.ones(n)
    active = numpy.ones(n, dtype=bool)
    while active.sum() > 1:
        mean = sums / numpy.outer(sizes, sizes)
        mean[~active, :] = -numpy.inf
        mean[:, ~active] = -numpy.inf
        numpy.fill_diagonal(mean, -numpy.inf)
        flat = int(numpy.argmax(mean))
        i, j = divmod(flat, n)
        if mean[i, j] <= threshold:
            break
        i, j = min(i, j), max(i, j)
        clusters[i].extend(clusters[j])
        clusters[j] = []
        sums[i, :] += sums[j, :]
        sums[:, i] += sums[:, j]
        sizes[i] += sizes[j]
        active[j] = False
    out = [sorted(c) for c in clusters if c]
    out.sort(key=lambda c: c[0])
    return out


CLUSTERERS = {"transitive": cluster_transitive, "average": cluster_average_linkage}


def cluster_many(linkage: str, scores: numpy.ndarray, lengths: Sequence[int], threshold: float) -> List[List[List[int]]]:
    """The clusters of many docs with `linkage`: `scores` is [D, M, M], doc
    d's mentions its first `lengths[d]` rows and columns. Transitive linkage
    runs on all docs at once; the others doc by doc."""
    if linkage == "transitive":
        return cluster_transitive_many(scores, lengths, threshold)
    return [CLUSTERERS[linkage](scores[d, :n, :n], threshold) for d, n in enumerate(lengths)]
