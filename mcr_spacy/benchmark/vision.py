"""Region extraction speed and memory: seconds per image for reading,
detection and features, and the memory the extractors add
(`python -m mcr_spacy benchmark --images DIR`)."""
import gc
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

from wasabi import msg

from .memory import _reset_peak_rss, _rss_mb, peak_rss_mb

# The goal: detection and features of one 500 x 375 photo in this many seconds on one core.
TARGET_SECONDS = 0.3
# The most regions an image gets (35 detections and the whole image): the
# features are also timed with this many boxes, the goal's worst case.
MAX_REGIONS = 36
STAGES = ("read", "detect", "features", f"features_{MAX_REGIONS}_regions")


def benchmark_vision(images: Sequence[Union[str, Path]], *, repeats: int = 3, threads: int = 1) -> Dict[str, Any]:
    """Time the default extractor image by image: `repeats` rounds over the
    images after one warm-up image (which also loads the weights); each
    stage's time is the median over rounds of its mean per image."""
    from ..vision.detector import SSDMobileNetDetector
    from ..vision.encoder import EfficientNetRegionEncoder
    from ..vision.extractor import RegionExtractor, with_whole_image
    from ..vision.threads import set_threads

    set_threads(threads)
    paths = [Path(p) for p in images]
    gc.collect()
    exact = _reset_peak_rss()
    base = _rss_mb() if exact else peak_rss_mb()
    extractor = RegionExtractor(SSDMobileNetDetector(), EfficientNetRegionEncoder())
    start = time.perf_counter()
    extractor([paths[0]])
    load_seconds = time.perf_counter() - start
    rounds: Dict[str, List[float]] = {stage: [] for stage in STAGES}
    n_regions: List[int] = []
    sizes = []
    for _ in range(max(1, repeats)):
        totals = dict.fromkeys(STAGES, 0.0)
        for path in paths:
            t0 = time.perf_counter()
            image = extractor.read(path)
            t1 = time.perf_counter()
            detections = extractor.detector([image.array])
            t2 = time.perf_counter()
            boxes = [with_whole_image(detections[0].boxes, image.array)]
            extractor.encoder([image.array], boxes)
            t3 = time.perf_counter()
            extractor.encoder([image.array], [_fill_boxes(boxes[0], image.array, MAX_REGIONS)])
            t4 = time.perf_counter()
            totals["read"] += t1 - t0
            totals["detect"] += t2 - t1
            totals["features"] += t3 - t2
            totals[STAGES[3]] += t4 - t3
            n_regions.append(len(boxes[0]))
            sizes.append(image.size)
        for stage in STAGES:
            rounds[stage].append(totals[stage] / len(paths))
    seconds = {stage: statistics.median(values) for stage, values in rounds.items()}
    worst = seconds["detect"] + seconds[STAGES[3]]
    return {
        "n_images": len(paths),
        "repeats": max(1, repeats),
        "threads": threads,
        "image_size_mean": [statistics.mean(s[0] for s in sizes), statistics.mean(s[1] for s in sizes)],
        "regions_mean": statistics.mean(n_regions),
        "regions_max": max(n_regions),
        "seconds_per_image": seconds,
        "detect_and_features_s": seconds["detect"] + seconds["features"],
        f"detect_and_features_{MAX_REGIONS}_regions_s": worst,
        "target_s": TARGET_SECONDS,
        "first_image_with_loading_s": load_seconds,
        "extra_memory_mb": peak_rss_mb() - base,
        "exact_peak": exact,
        "extractor": extractor.name,
    }


def _fill_boxes(boxes: Any, array: Any, n: int) -> Any:
    """`boxes` and as many more as make `n`: a grid of boxes over the image."""
    import numpy

    height, width = array.shape[:2]
    extra = max(0, n - len(boxes))
    steps = numpy.linspace(0.0, 0.5, num=max(extra, 1), dtype="float32")[:extra]
    grid = numpy.stack([steps * width, steps * height, (steps + 0.5) * width, (steps + 0.5) * height], axis=1)
    return numpy.concatenate([boxes, grid.reshape((-1, 4))]).astype("float32")


def print_vision_report(result: Dict[str, Any]) -> None:
    """Print the region extraction timings as a table."""
    msg.divider("Region extraction")
    width, height = result["image_size_mean"]
    msg.text(
        f"{result['n_images']} images of {width:.0f} x {height:.0f} pixels on average, "
        f"{result['regions_mean']:.1f} regions (at most {result['regions_max']}); "
        f"{result['threads']} thread(s); {result['extractor']}"
    )
    seconds = result["seconds_per_image"]
    rows = [(stage, f"{seconds[stage]:.3f}") for stage in STAGES]
    rows.append(("detection + features", f"{result['detect_and_features_s']:.3f}"))
    rows.append((f"detection + features, {MAX_REGIONS} regions", f"{result[f'detect_and_features_{MAX_REGIONS}_regions_s']:.3f}"))
    msg.table(rows, header=("stage", "s / image"), divider=True, aligns=("l", "r"))
    worst = result[f"detect_and_features_{MAX_REGIONS}_regions_s"]
    (msg.good if worst <= result["target_s"] else msg.warn)(
        f"Detection + features of {MAX_REGIONS} regions: {worst:.3f} s per image "
        f"(goal <= {result['target_s']} s). First image, with loading the weights: "
        f"{result['first_image_with_loading_s']:.2f} s. Extra memory (peak): {result['extra_memory_mb']:.0f} MiB."
    )
