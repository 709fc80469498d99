"""The benchmark's results as tables: speed of both pipelines and their
ratio against the target, training speed, and memory by narration length."""
from typing import Any, Dict, List, Optional

from wasabi import msg

# The share of the encoder's speed the full pipeline should keep.
TARGET_RATIO = 0.85


def print_report(result: Dict[str, Any]) -> None:
    """Print the benchmark results as tables."""
    msg.divider(f"Benchmark: {result['config']}")
    msg.text(
        f"Pipeline: {', '.join(result['pipeline'])}; encoder: {', '.join(result['encoder'])}; "
        f"torch threads: {result['torch_threads']}; CPUs: {result['cpu_count']}; "
        f"load average at start: {_fmt_load(result.get('load_average'))}, "
        f"at end: {_fmt_load(result.get('load_average_end'))}"
    )
    docs = result.get("docs")
    if docs:
        msg.text(
            f"Narrations: {docs['words_mean']:.0f} words, {docs['mentions_mean']:.1f} mentions, "
            f"{docs['regions_mean']:.1f} regions on average"
        )
    inf = result["inference"]
    rows = [
        (label, f"{inf[key]['docs_per_s']:.1f}", f"{inf[key]['words_per_s']:.0f}",
         f"{inf[key]['docs_per_s_median']:.1f}", f"{inf[key]['docs_per_cpu_s']:.1f}",
         f"{inf[key]['words_per_cpu_s']:.0f}")
        for label, key in (("(a) encoder alone", "encoder"), ("(b) full pipeline", "full"))
    ]
    msg.table(
        rows, header=("inference", "docs/s", "words/s", "docs/s (median)", "docs/CPU-s", "words/CPU-s"),
        divider=True, aligns=("l", "r", "r", "r", "r", "r"),
    )
    ratio = inf["ratio"]
    text = (
        f"Ratio (b)/(a): {ratio:.3f} wall-clock, median of the rounds' ratios, the two pipelines "
        f"interleaved batch by batch (best rounds: {inf['ratio_best']:.3f}; CPU time: "
        f"{inf['ratio_cpu']:.3f}); {inf['n_docs']} docs, {inf['n_words']} words, "
        f"batch size {inf['batch_size']}, {inf['repeats']} rounds"
    )
    text += (
        f". Within the full runs, multimodal_coref took {100 * inf['coref_share']:.1f}% of the time "
        f"(ratio {inf['ratio_in_run']:.3f})"
    )
    if ratio >= TARGET_RATIO:
        msg.good(text)
    else:
        msg.warn(text + f"; below the target {TARGET_RATIO}")
    train = result.get("training")
    if train:
        msg.text(
            f"Training: {train['examples_per_s']:.2f} examples/s, {train['words_per_s']:.0f} words/s "
            f"({train['steps']} steps of {train['batch_size']} examples)"
        )
    msg.text(f"Peak resident memory of the benchmark process: {result['peak_rss_mb']:.0f} MiB")
    print_linkage(result)
    memory = result.get("memory")
    if memory:
        rows = [
            (r["n_words"], r["n_tokens"], f"{r['n_mentions_scored']}/{r['n_mentions']}", r["n_regions"],
             f"{r['peak_rss_increase_mb']:.1f}", f"{r['peak_traced_mb']:.1f}", f"{r['seconds']:.2f}")
            for r in memory
        ]
        msg.table(
            rows,
            header=("words", "tokens", "mentions scored", "regions", "peak RSS +MiB", "traced MiB", "seconds"),
            divider=True, aligns=("r",) * 7,
        )
        fit = result.get("memory_fit") or {}
        if fit:
            msg.text(
                f"Linear fit: {fit['mb_per_1000_words']:.2f} MiB per 1000 words + {fit['intercept_mb']:.1f} MiB; "
                f"marginal MiB per 1000 words, shortest to longest: "
                f"{fit['marginal_first_mb_per_1000']:.2f} -> {fit['marginal_last_mb_per_1000']:.2f} "
                f"(equal for linear growth, growing with length for quadratic)"
            )


def print_linkage(result: Dict[str, Any]) -> None:
    """The table of clustering times per linkage, if the result has one."""
    rows = result.get("linkage") or []
    if rows:
        msg.table(
            [(r["linkage"], r["n_mentions"], r["n_clusters"], f"{r['seconds']:.2f}") for r in rows],
            header=("linkage", "mentions", "clusters", "seconds"), divider=True, aligns=("l", "r", "r", "r"),
        )


def _fmt_load(load: Optional[List[float]]) -> str:
    if not load:
        return "n/a"
    return "/".join(f"{v:.1f}" for v in load)
