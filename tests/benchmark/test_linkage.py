"""The benchmark row of each clustering linkage on one long doc."""
from mcr_spacy.benchmark.linkage import time_linkages
from mcr_spacy.cli.write_docs import benchmarks_page
from mcr_spacy.pipeline.decoding import CLUSTERERS


def test_time_linkages_has_a_row_per_linkage():
    rows = time_linkages(300, seed=1)
    assert sorted(row["linkage"] for row in rows) == sorted(CLUSTERERS)
    for row in rows:
        assert row["n_mentions"] == 300 and row["seconds"] >= 0.0
        assert 1 <= row["n_clusters"] < 300  # the generated scores have clusters
    page = benchmarks_page({"benchmark.json": {"config": "demo", "linkage": rows}}, "metrics")
    assert "| `average` | 300 |" in page and "| `transitive` | 300 |" in page
