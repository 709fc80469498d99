"""`python -m mcr_spacy train-distributed`: spaCy training over several processes
or GPUs with torch.distributed, launched by torchrun."""
from pathlib import Path
from typing import Optional

import typer
from spacy.cli._util import import_code, parse_config_overrides

from ._util import app, guard_outputs


@app.command(
    "train-distributed",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def train_distributed_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="spaCy training config (the same as for `spacy train`).", exists=True, dir_okay=False),
    output_path: Optional[Path] = typer.Argument(None, help="Directory for model-best and model-last (written by rank 0)."),
    gpu: bool = typer.Option(False, "--gpu", help="One GPU per process: the process's LOCAL_RANK, NCCL backend."),
    backend: Optional[str] = typer.Option(None, "--backend", help="torch.distributed backend (default: nccl with --gpu, else gloo)."),
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help="Python file with registered functions to import."),
    report_dir: Optional[Path] = typer.Option(None, "--report-dir", help="Write each rank's summary (losses, weights fingerprint) to rank<N>.json here."),
):
    """Train a pipeline with one process per GPU (or several on CPU).

    Launch with torchrun, e.g. on 4 GPUs:
    `torchrun --nproc_per_node 4 -m mcr_spacy train-distributed CONFIG OUTPUT --gpu`,
    on CPU: `torchrun --nproc_per_node 2 -m mcr_spacy train-distributed CONFIG OUTPUT`.
    Config overrides as in `spacy train` (`--paths.train corpus/train.spacy`
    `--training.max_steps 2000`). The config is an ordinary spaCy training
    config; every rank reads the whole training corpus and keeps examples
    i % world_size == rank. Gradients are averaged over all ranks each step
    (so the effective batch is world_size times the configured one); only
    rank 0 evaluates, logs and saves. Without torchrun it trains in one process.
    """
    from ..training.distributed import train_distributed

    guard_outputs([output_path, report_dir], [config_path, code_path])
    overrides = parse_config_overrides(ctx.args)
    import_code(code_path)
    train_distributed(
        config_path, output_path, overrides=overrides, use_gpu=gpu, backend=backend, report_dir=report_dir
    )
