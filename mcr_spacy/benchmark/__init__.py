"""The speed and memory benchmark of a pipeline with `multimodal_coref`
against its bare encoder, on generated narrations (`python -m mcr_spacy benchmark`)."""
from .memory import linear_fit, measure_memory, memory_by_length
from .pipelines import (
    BUILTIN_CONFIGS,
    build_pipeline,
    coref_names,
    encoder_names,
    load_benchmark_config,
    minilm_path,
    standalone_encoder,
)
from .report import print_report
from .runner import run_benchmark
from .timing import ComponentTimer, benchmark_inference, benchmark_training, time_pipe

__all__ = [
    "BUILTIN_CONFIGS",
    "ComponentTimer",
    "benchmark_inference",
    "benchmark_training",
    "build_pipeline",
    "coref_names",
    "encoder_names",
    "linear_fit",
    "load_benchmark_config",
    "measure_memory",
    "memory_by_length",
    "minilm_path",
    "print_report",
    "run_benchmark",
    "standalone_encoder",
    "time_pipe",
]
