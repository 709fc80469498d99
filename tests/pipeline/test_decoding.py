import math

import numpy
import pytest

from mcr_spacy.pipeline.decoding import UnionFind, cluster_average_linkage, cluster_many, cluster_transitive


def scores(pairs, n):
    m = numpy.eye(n)
    for i, j, s in pairs:
        m[i, j] = m[j, i] = s
    return m


def test_transitive_closure():
    # 0-1 and 1-2 above threshold: 0, 1, 2 in one cluster though 0-2 is low.
    m = scores([(0, 1, 0.9), (1, 2, 0.8), (0, 2, 0.1), (3, 4, 0.95)], 6)
    assert cluster_transitive(m, 0.5) == [[0, 1, 2], [3, 4], [5]]
    assert cluster_transitive(m, 0.85) == [[0, 1], [2], [3, 4], [5]]


def test_average_linkage_refuses_weak_chains():
    m = scores([(0, 1, 0.9), (1, 2, 0.6), (0, 2, 0.0)], 3)
    # After joining 0 and 1, the mean score of {0,1} with 2 is 0.3 < 0.5.
    assert cluster_average_linkage(m, 0.5) == [[0, 1], [2]]
    assert cluster_transitive(m, 0.5) == [[0, 1, 2]]


def test_order_independent_and_empty():
    rng = numpy.random.default_rng(0)
    m = rng.uniform(size=(8, 8))
    m = (m + m.T) / 2
    perm = rng.permutation(8)
    direct = cluster_transitive(m, 0.7)
    permuted = cluster_transitive(m[perm][:, perm], 0.7)
    assert sorted(sorted(perm[i] for i in c) for c in permuted) == sorted(direct)
    assert cluster_transitive(numpy.zeros((0, 0)), 0.5) == []


def test_apply_deltas_many_with_one_image_size_per_box():
    """Each box is refined in its own image's normalised coordinates and
    clipped to its own image; the expected boxes are worked out by hand."""
    from mcr_spacy.annotation.boxes import apply_deltas, apply_deltas_many

    double = 5 * math.log(2.0)  # dw, dh of a scale x2 (delta weight 5)
    boxes = [
        [10, 20, 60, 90],  # moved right by its width (dx 10 = 1 width): clipped at x = 100
        [0, 0, 300, 200],  # twice as wide about its centre: clipped to its 320-wide image
        [5, 5, 6, 7],  # moved up by half its height
        [10, 10, 10, 10],  # zero size: width and height count as 1e-4 of the image
        [50, 50, 50.1, 50.1],  # dw, dh far past the clamp: x 1000 / 16, not x e^10
    ]
    deltas = [[10, 0, 0, 0], [0, 0, double, 0], [0, -5, 0, 0], [0, 0, 0, 0], [0, 0, 50, 50]]
    sizes = [[100, 120], [320, 240], [50, 40], [100, 100], [100, 100]]
    expected = [
        [60, 20, 100, 90],
        [0, 0, 320, 200],
        [5, 4, 6, 6],
        [10, 10, 10.01, 10.01],
        [50.05 - 0.1 * 62.5 / 2] * 2 + [50.05 + 0.1 * 62.5 / 2] * 2,
    ]
    batched = apply_deltas_many(numpy.asarray(boxes, dtype="float64"), deltas, numpy.asarray(sizes, dtype="float64"))
    assert batched.tolist() == [pytest.approx(box, abs=1e-9) for box in expected]
    for box, delta, size, want in zip(boxes, deltas, sizes, expected):
        assert apply_deltas(box, delta, size) == pytest.approx(want, abs=1e-9)


def union_find_clusters(m, threshold):
    """Reference: the connected components of the thresholded graph, by union-find."""
    uf = UnionFind(m.shape[0])
    for i, j in zip(*numpy.nonzero(m > threshold)):
        uf.union(int(i), int(j))
    groups = {}
    for i in range(m.shape[0]):
        groups.setdefault(uf.find(i), []).append(i)
    return sorted(groups.values(), key=lambda c: c[0])


def test_many_docs_at_once_equal_one_by_one():
    """Docs of different lengths clustered together, padding with high scores
    (which must not link anything), give each doc's own clusters: the
    components a union-find finds, and for average linkage its own result."""
    rng = numpy.random.default_rng(0)
    lengths = [6, 0, 1, 13, 9]
    padded = numpy.full((len(lengths), 13, 13), 0.99)
    docs = []
    for d, n in enumerate(lengths):
        m = rng.uniform(0, 1, (n, n)) ** 3
        padded[d, :n, :n] = m
        docs.append(m)
    for threshold in (0.3, 0.6, 0.9):
        expected = [union_find_clusters(m, threshold) for m in docs]
        assert any(len(c) > 1 for doc in expected for c in doc)
        assert cluster_many("transitive", padded, lengths, threshold) == expected
        assert [cluster_transitive(m, threshold) for m in docs] == expected
        assert cluster_many("average", padded, lengths, threshold) == [
            cluster_average_linkage(m, threshold) for m in docs
        ]
    assert cluster_many("transitive", numpy.zeros((2, 0, 0)), [0, 0], 0.5) == [[], []]
