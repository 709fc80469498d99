"""Multi-process and multi-GPU training with PyTorch's own distributed engine.

Launch one process per GPU (or a few on CPU) with `torchrun`:

    torchrun --nproc_per_node 4 -m mcr_spacy train-distributed CONFIG OUTPUT --gpu
    torchrun --nproc_per_node 2 -m mcr_spacy train-distributed CONFIG OUTPUT

Every rank builds and initializes the pipeline from the same config on the
whole training corpus (so every rank builds the same model), then rank 0's
weights are broadcast. Training runs spaCy's own loop (`train_while_improving`)
on each rank over its shard of the training corpus (example i goes to rank
i % world_size); after every backward pass one all-reduce averages all
gradients of the pipeline (thinc and torch parameters alike), so every rank
applies the same update. Only rank 0 evaluates (the score is broadcast, so
early stopping is decided the same everywhere), logs and saves `model-best`
and `model-last`. NCCL on GPUs, gloo on CPU. At the end the ranks compare a
hash of their weights and fail loudly if they differ."""
import json
import logging
import sys
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.schemas import ConfigSchemaTraining
from spacy.training import Example
from spacy.training.initialize import init_nlp
from spacy.training.loop import (
    DIR_MODEL_BEST, DIR_MODEL_LAST, clean_output_dir, create_before_to_disk_callback,
    create_evaluation_callback, create_train_batches, train_while_improving, update_meta,
)
from spacy.util import load_config, logger, registry, resolve_dot_names
from thinc.api import fix_random_seed, require_gpu, set_gpu_allocator
from wasabi import Printer

from ..errors import ConfigError, Errors
from .io import copy_folder, save_pipeline


def _register_functions() -> None:
    """Import the modules whose registered functions configs refer to."""
    from ..pipeline import component  # noqa: F401
    from ..scoring import scorer  # noqa: F401
    from ..synthetic import corpus as narrations  # noqa: F401
    from . import corpus  # noqa: F401


def shard_corpus(
    corpus: Callable[[Language], Iterable[Example]], rank: int, world_size: int
) -> Callable[[Language], Iterator[Example]]:
    """A corpus reader yielding example i only where i % world_size == rank."""

    def read_shard(nlp: Language) -> Iterator[Example]:
        for i, eg in enumerate(corpus(nlp)):
            if i % world_size == rank:
                yield eg

    return read_shard


def _in_step(batches: Iterator[Tuple[int, List[Example]]], all_true: Callable[[bool], bool]):
    """Yield batches while every rank still has one (ranks stop together)."""
    while True:
        item = next(batches, None)
        if not all_true(item is not None):
            return
        yield item


def train_distributed(
    config_path: Union[str, Path],
    output_path: Optional[Union[str, Path]] = None,
    *,
    overrides: Optional[Dict[str, Any]] = None,
    use_gpu: bool = False,
    backend: Optional[str] = None,
    report_dir: Optional[Union[str, Path]] = None,
    stdout: IO = sys.stdout,
) -> Dict[str, Any]:
    """Train the pipeline of `config_path` on this rank of a torchrun job (or
    alone when not launched by torchrun). Returns this rank's summary: rank,
    world size, shard size, steps, the loss of each step on this rank's data,
    the weights fingerprint and the final scores (rank 0)."""
    from ..ml.torch import distributed as pd

    _register_functions()
    info = pd.init_process_group(backend=backend, use_gpu=use_gpu)
    rank, world_size = info.rank, info.world_size
    is_main = rank == 0
    msg = Printer(no_print=True)
    if not is_main:
        logger.setLevel(logging.WARNING)
    try:
        return _train(
            pd, info, Path(config_path), None if output_path is None else Path(output_path),
            overrides or {}, use_gpu, None if report_dir is None else Path(report_dir), msg, stdout,
        )
    finally:
        pd.destroy_process_group()


def _train(pd, info, config_path: Path, output_path: Optional[Path], overrides: Dict[str, Any],
           use_gpu: bool, report_dir: Optional[Path], msg: Printer, stdout: IO) -> Dict[str, Any]:
    rank, world_size = info.rank, info.world_size
    is_main = rank == 0

    def say(text: str) -> None:
        if is_main:
            stdout.write(text + "\n")
            stdout.flush()

    if not config_path.exists():
        raise ConfigError(Errors.E208.format(path=config_path))
    config = load_config(config_path, overrides=overrides, interpolate=False)
    gpu_id = -1
    if use_gpu:
        gpu_id = info.local_rank
        allocator = config["training"].get("gpu_allocator")
        if allocator:
            set_gpu_allocator(allocator)
        require_gpu(gpu_id)
    say(msg.info(f"Rank {rank} of {world_size} ({info.backend}); initializing the pipeline") or "")
    # Every rank initializes on the whole corpus, so every rank builds the same
    # model (widths, label vocabularies); the weights then come from rank 0.
    nlp = init_nlp(config, use_gpu=gpu_id)
    config = nlp.config.interpolate()
    seed = config["training"]["seed"]
    if seed is not None:
        fix_random_seed(seed)
    T = registry.resolve(config["training"], schema=ConfigSchemaTraining)
    train_corpus, dev_corpus = resolve_dot_names(config, [T["train_corpus"], T["dev_corpus"]])
    frozen = list(T["frozen_components"])
    trainable = [
        proc for name, proc in nlp.pipeline
        if name not in frozen and getattr(proc, "is_trainable", False) and proc.model not in (True, False, None)
    ]
    sync = pd.GradientSync([proc.model for proc in trainable])
    sync.check_same_everywhere()
    sync.broadcast_params(src=0)
    optimizer = pd.AllReduceOptimizer(T["optimizer"], sync)
    # spaCy's loop calls each component's finish_update after all backward
    # passes: the first one of each step averages the gradients.
    for proc in trainable:
        proc.finish_update = optimizer.wrap_finish_update(proc.finish_update)

    shard = shard_corpus(train_corpus, rank, world_size)
    max_epochs = T["max_epochs"]
    shard_size = None
    if max_epochs >= 0:
        examples = list(shard(nlp))
        shard_size = len(examples)
        smallest = pd.min_over_ranks(shard_size)
        if smallest == 0:
            raise ConfigError(Errors.E209.format(world_size=world_size))
        shard = lambda nlp: examples  # noqa: E731
    batches = _in_step(create_train_batches(nlp, shard, T["batcher"], max_epochs), pd.all_true)

    evaluate_here = create_evaluation_callback(nlp, dev_corpus, T["score_weights"])

    def evaluate() -> Tuple[float, Dict[str, Any]]:
        result = evaluate_here() if is_main else None
        return pd.broadcast_object(result, src=0)

    before_to_disk = create_before_to_disk_callback(T["before_to_disk"])

    def save_checkpoint(is_best: bool) -> None:
        with nlp.use_params(optimizer.averages):
            save_pipeline(before_to_disk(nlp), output_path / DIR_MODEL_LAST)
        if is_best:
            copy_folder(output_path / DIR_MODEL_LAST, output_path / DIR_MODEL_BEST)

    steps = train_while_improving(
        nlp, optimizer, batches, evaluate,
        dropout=T["dropout"],
        accumulate_gradient=T["accumulate_gradient"],
        patience=T["patience"],
        max_steps=T["max_steps"],
        eval_frequency=T["eval_frequency"],
        exclude=frozen,
        annotating_components=T["annotating_components"],
        before_update=T["before_update"],
    )
    if is_main and output_path is not None:
        output_path.mkdir(parents=True, exist_ok=True)
        clean_output_dir(output_path)
    say(msg.info(f"Pipeline: {nlp.pipe_names}; {world_size} processes; shard of rank 0: {shard_size} examples") or "")
    log_step, finalize_logger = (None, None)
    if is_main:
        with nlp.select_pipes(disable=frozen):
            log_step, finalize_logger = T["logger"](nlp, stdout, sys.stderr)
    step_losses: List[float] = []
    previous = 0.0
    last_info: Dict[str, Any] = {}
    n_steps = 0
    try:
        for batch, step_info, is_best in steps:
            n_steps += 1
            total = sum(v for k, v in step_info["losses"].items() if k in nlp.pipe_names)
            step_losses.append(total - previous)
            previous = 0.0 if is_best is not None else total
            last_info = step_info
            if is_main:
                if is_best is not None:
                    with nlp.select_pipes(disable=frozen):
                        update_meta(T, nlp, step_info)
                    if output_path is not None:
                        save_checkpoint(is_best)
                        step_info["output_path"] = str(output_path / DIR_MODEL_LAST)
                log_step(step_info if is_best is not None else None)
    finally:
        if finalize_logger is not None:
            finalize_logger()
    if is_main and output_path is not None:
        save_checkpoint(False)
        say(msg.good("Saved pipeline to output directory", str(output_path / DIR_MODEL_LAST)) or "")
    fingerprint = sync.fingerprint()
    fingerprints = pd.all_gather_object(fingerprint)
    agree = all(f == fingerprints[0] for f in fingerprints)
    summary = {
        "rank": rank,
        "world_size": world_size,
        "backend": info.backend,
        "shard_size": shard_size,
        "steps": n_steps,
        "step_losses": step_losses,
        "fingerprint": fingerprint,
        "fingerprints_agree": agree,
        "score": last_info.get("score") if is_main else None,
    }
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / f"rank{rank}.json").write_text(json.dumps(summary, indent=2))
    pd.barrier()
    if not agree:
        raise RuntimeError(Errors.E210.format(fingerprints=fingerprints))
    if world_size > 1:
        say(msg.good(f"All {world_size} ranks hold identical weights after {n_steps} steps") or "")
    return summary
