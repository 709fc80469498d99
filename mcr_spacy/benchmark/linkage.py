"""The time of each clustering linkage on the pairwise scores of one long doc
(e.g. 5,000 mentions: a narration of about 20,000 words)."""
import time
from typing import Any, Dict, List

import numpy

from ..pipeline.decoding import CLUSTERERS


def linkage_scores(n_mentions: int, seed: int = 0, width: int = 64) -> numpy.ndarray:
    """Cosine similarities [n, n] of random unit vectors, in clusters of about
    five mentions (as the component's scores of a narration's mentions)."""
    rng = numpy.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n_mentions // 5), width))
    vectors = centres[rng.integers(0, len(centres), size=n_mentions)] + rng.normal(scale=0.6, size=(n_mentions, width))
    vectors /= numpy.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors @ vectors.T).astype("float32")


def time_linkages(n_mentions: int = 5000, threshold: float = 0.5, seed: int = 0) -> List[Dict[str, Any]]:
    """One row per linkage: the seconds it takes to cluster one doc of
    `n_mentions` mentions, and the clusters it finds."""
    scores = linkage_scores(n_mentions, seed)
    rows = []
    for name, cluster in sorted(CLUSTERERS.items()):
        start = time.perf_counter()
        clusters = cluster(scores, threshold)
        rows.append({
            "linkage": name, "n_mentions": n_mentions, "threshold": threshold,
            "seconds": time.perf_counter() - start, "n_clusters": len(clusters),
        })
    return rows
