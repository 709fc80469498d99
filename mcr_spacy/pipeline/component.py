"""The `multimodal_coref` pipeline component."""
import multiprocessing
import os
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy
import srsly
from spacy import util
from spacy.errors import Errors as SpacyErrors
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate

from ..annotation.clusters import clear_clusters, cluster_key, get_clusters
from ..annotation.extensions import DEFAULT_CLUSTER_PREFIX, set_span_values
from ..errors import ConfigError, Errors
from ..ml.model import (
    CorefOutputs, MentionBatch, build_torch_layer, collect_region_settings,
    get_model_settings, is_built, rerun_module,
)
from .decoding import (
    CLUSTERERS, DocPrediction, check_clustering_settings, check_multi_region_ratio, cluster_by_antecedents,
    cluster_grounding, decode,
)
from .mentions import is_sorted_unique
from ..ml.traces import chance_corrected_agreement
from .targets import TraceSettings, build_targets, check_trace_settings
from ..vision.provenance import check_regions, describe_regions

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "mcr_spacy.MultimodalCoref.v1"
hidden_width = 128
n_heads = 4
n_layers = 2
dropout = 0.1
region_feature_width = null
max_region_labels = 5000
max_mentions_per_chunk = 128
mixed_precision = false

[model.tok2vec]
@architectures = "spacy.Tok2Vec.v2"

[model.tok2vec.embed]
@architectures = "spacy.MultiHashEmbed.v2"
width = 96
attrs = ["NORM", "PREFIX", "SUFFIX", "SHAPE"]
rows = [5000, 1000, 2500, 2500]
include_static_vectors = false

[model.tok2vec.encode]
@architectures = "spacy.MaxoutWindowEncoder.v2"
width = 96
depth = 2
window_size = 1
maxout_pieces = 3
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]
# The component's settings and their defaults: the factory's default config
# and the defaults of `MultimodalCoref.__init__` both come from here.
DEFAULT_SETTINGS: Dict[str, Any] = {
    "span_cluster_prefix": DEFAULT_CLUSTER_PREFIX,
    "mentions_key": "coref_mentions",
    "threshold": 0.5,
    "linkage": "transitive",
    "write_singletons": False,
    "coref_weight": 1.0,
    "grounding_weight": 1.0,
    "bbox_weight": 1.0,
    "temperature": 0.1,
    "grounding_agreement": 0.3,
    "itc_weight": 0.1,
    "itc_temperature": 0.1,
    "label_prop_weight": 1.0,
    "pseudo_coref_threshold": 0.9,
    "pseudo_grounding_threshold": 0.9,
    "label_prop_warmup": 0,
    "use_ema": True,
    "ema_decay": 0.999,
    "trace_weight": 0.0,
    "trace_temperature": 0.1,
    "trace_min_overlap": 0.3,
    "trace_reliability": None,
    "multi_region_ratio": None,
    "label_groundings": False,
    "label_groundings_by_cluster": False,
}


@Language.factory(
    "multimodal_coref",
    assigns=["doc.spans", "span._.grounding"],
    requires=["doc._.image_regions"],
    default_config={
        "model": DEFAULT_MODEL,
        "mention_getter": {"@misc": "mcr_spacy.span_group_mentions.v1", "key": "mentions"},
        **DEFAULT_SETTINGS,
        "scorer": {"@scorers": "mcr_spacy.multimodal_coref_scorer.v1"},
    },
    default_score_weights={
        "coref_conll_f": 0.5,
        "grounding_acc": 0.5,
        "coref_muc_f": None,
        "coref_b3_f": None,
        "coref_ceafe_f": None,
        "coref_blanc_f": None,
        "coref_lea_f": None,
        "grounding_acc_noun": None,
        "grounding_acc_pronoun": None,
    },
)
def make_multimodal_coref(
    nlp: Language,
    name: str,
    model: Model[MentionBatch, CorefOutputs],
    mention_getter: Callable[[Doc], List[Span]],
    span_cluster_prefix: str,
    mentions_key: str,
    threshold: float,
    linkage: str,
    write_singletons: bool,
    coref_weight: float,
    grounding_weight: float,
    bbox_weight: float,
    temperature: float,
    grounding_agreement: float,
    itc_weight: float,
    itc_temperature: float,
    label_prop_weight: float,
    pseudo_coref_threshold: float,
    pseudo_grounding_threshold: float,
    label_prop_warmup: int,
    use_ema: bool,
    ema_decay: float,
    scorer: Optional[Callable],
    trace_weight: float = DEFAULT_SETTINGS["trace_weight"],
    trace_temperature: float = DEFAULT_SETTINGS["trace_temperature"],
    trace_min_overlap: float = DEFAULT_SETTINGS["trace_min_overlap"],
    trace_reliability: Optional[float] = DEFAULT_SETTINGS["trace_reliability"],
    multi_region_ratio: Optional[float] = DEFAULT_SETTINGS["multi_region_ratio"],
    label_groundings: bool = DEFAULT_SETTINGS["label_groundings"],
    label_groundings_by_cluster: bool = DEFAULT_SETTINGS["label_groundings_by_cluster"],
) -> "MultimodalCoref":
    """Create a multimodal_coref component: finds mentions, clusters the ones
    that corefer and grounds every mention and cluster to an image region.

    Labelled examples (reference docs with gold clusters) train the coref,
    grounding and bbox losses; every example trains the image-text contrastive
    loss (itc); unlabelled examples train on the EMA teacher's confident
    pseudo-labels (label_prop); mentions of docs without gold boxes whose
    narrator's mouse trace (`doc._.trace_boxes`) points at a region learn a
    soft grounding target from it (trace, off by default). A weight of 0
    switches an objective off.

    trace_temperature: softmax temperature of the trace-region overlaps.
    trace_min_overlap: a mention whose best trace-region overlap is lower
        gets no trace target.
    trace_reliability: None measures how much the traces are worth (their
        chance-corrected agreement with the gold regions of labelled mentions
        that have traces, 0..1; 1 until measured) and scales trace_weight by
        it; a number in [0, 1] fixes it.
    multi_region_ratio: None grounds every mention to one region; a number
        in (0, 1] grounds a plural mention ("two men", "they") to every region
        at least this share as probable as its best one (and above "no
        region"), up to its number: `span._.grounding` then also has
        "regions", "boxes" and "refined_boxes", best first.
    label_groundings: train grounding, on labelled docs, to ground each
        noun phrase without a gold box to the regions whose detector labels
        it names ("the bikes" to the "bicycle" regions), so that docs with
        labelled regions but no gold boxes (VisPro's COCO detections) teach
        grounding too.
    label_groundings_by_cluster: with label_groundings, every gold mention
        of a cluster whose noun phrases name region labels learns those
        regions, pronouns included (the regions all its phrases name, else
        any of them); a phrase that names labels itself keeps its own."""
    return MultimodalCoref(
        nlp.vocab, model, name,
        mention_getter=mention_getter,
        span_cluster_prefix=span_cluster_prefix,
        mentions_key=mentions_key,
        threshold=threshold,
        linkage=linkage,
        write_singletons=write_singletons,
        coref_weight=coref_weight,
        grounding_weight=grounding_weight,
        bbox_weight=bbox_weight,
        temperature=temperature,
        grounding_agreement=grounding_agreement,
        itc_weight=itc_weight,
        itc_temperature=itc_temperature,
        label_prop_weight=label_prop_weight,
        pseudo_coref_threshold=pseudo_coref_threshold,
        pseudo_grounding_threshold=pseudo_grounding_threshold,
        label_prop_warmup=label_prop_warmup,
        use_ema=use_ema,
        ema_decay=ema_decay,
        scorer=scorer,
        trace_weight=trace_weight,
        trace_temperature=trace_temperature,
        trace_min_overlap=trace_min_overlap,
        trace_reliability=trace_reliability,
        multi_region_ratio=multi_region_ratio,
        label_groundings=label_groundings,
        label_groundings_by_cluster=label_groundings_by_cluster,
    )


class MultimodalCoref(TrainablePipe):
    """Multimodal coreference resolution and grounding in image narrations.

    Writes clusters to `doc.spans["{prefix}_{i}"]`, every mention considered
    to `doc.spans[mentions_key]`, each mention's grounding to `span._.grounding`
    and each cluster's to `SpanGroup.attrs["grounding"]`."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[MentionBatch, CorefOutputs],
        name: str = "multimodal_coref",
        *,
        mention_getter: Callable[[Doc], List[Span]],
        scorer: Optional[Callable],
        span_cluster_prefix: str = DEFAULT_SETTINGS["span_cluster_prefix"],
        mentions_key: str = DEFAULT_SETTINGS["mentions_key"],
        threshold: float = DEFAULT_SETTINGS["threshold"],
        linkage: str = DEFAULT_SETTINGS["linkage"],
        write_singletons: bool = DEFAULT_SETTINGS["write_singletons"],
        coref_weight: float = DEFAULT_SETTINGS["coref_weight"],
        grounding_weight: float = DEFAULT_SETTINGS["grounding_weight"],
        bbox_weight: float = DEFAULT_SETTINGS["bbox_weight"],
        temperature: float = DEFAULT_SETTINGS["temperature"],
        grounding_agreement: float = DEFAULT_SETTINGS["grounding_agreement"],
        itc_weight: float = DEFAULT_SETTINGS["itc_weight"],
        itc_temperature: float = DEFAULT_SETTINGS["itc_temperature"],
        label_prop_weight: float = DEFAULT_SETTINGS["label_prop_weight"],
        pseudo_coref_threshold: float = DEFAULT_SETTINGS["pseudo_coref_threshold"],
        pseudo_grounding_threshold: float = DEFAULT_SETTINGS["pseudo_grounding_threshold"],
        label_prop_warmup: int = DEFAULT_SETTINGS["label_prop_warmup"],
        use_ema: bool = DEFAULT_SETTINGS["use_ema"],
        ema_decay: float = DEFAULT_SETTINGS["ema_decay"],
        trace_weight: float = DEFAULT_SETTINGS["trace_weight"],
        trace_temperature: float = DEFAULT_SETTINGS["trace_temperature"],
        trace_min_overlap: float = DEFAULT_SETTINGS["trace_min_overlap"],
        trace_reliability: Optional[float] = DEFAULT_SETTINGS["trace_reliability"],
        multi_region_ratio: Optional[float] = DEFAULT_SETTINGS["multi_region_ratio"],
        label_groundings: bool = DEFAULT_SETTINGS["label_groundings"],
        label_groundings_by_cluster: bool = DEFAULT_SETTINGS["label_groundings_by_cluster"],
    ) -> None:
        """Settings default to the factory's (`DEFAULT_SETTINGS`); the model,
        the mention getter and the scorer are what the factory builds from
        the registry (`scorer=None`: no scoring)."""
        check_clustering_settings(linkage, threshold)
        if temperature <= 0 or itc_temperature <= 0:
            raise ConfigError(Errors.E101.format(temperature=temperature, itc_temperature=itc_temperature))
        if not 0.0 <= grounding_agreement <= 1.0:
            raise ConfigError(Errors.E102.format(value=grounding_agreement))
        if label_prop_warmup < 0:
            raise ConfigError(Errors.E103.format(value=label_prop_warmup))
        if not 0.0 <= ema_decay < 1.0:
            raise ConfigError(Errors.E104.format(value=ema_decay))
        check_trace_settings(trace_weight, trace_temperature, trace_min_overlap, trace_reliability)
        check_multi_region_ratio(multi_region_ratio)
        self.vocab = vocab
        self.model = model
        self.name = name
        self.mention_getter = mention_getter
        self.scorer = scorer
        self.cfg: Dict[str, Any] = {
            "span_cluster_prefix": span_cluster_prefix,
            "mentions_key": mentions_key,
            "threshold": threshold,
            "linkage": linkage,
            "write_singletons": write_singletons,
            "coref_weight": coref_weight,
            "grounding_weight": grounding_weight,
            "bbox_weight": bbox_weight,
            "temperature": temperature,
            "grounding_agreement": grounding_agreement,
            "itc_weight": itc_weight,
            "itc_temperature": itc_temperature,
            "label_prop_weight": label_prop_weight,
            "pseudo_coref_threshold": pseudo_coref_threshold,
            "pseudo_grounding_threshold": pseudo_grounding_threshold,
            "label_prop_warmup": label_prop_warmup,
            "use_ema": use_ema,
            "ema_decay": ema_decay,
            "trace_weight": trace_weight,
            "trace_temperature": trace_temperature,
            "trace_min_overlap": trace_min_overlap,
            "trace_reliability": trace_reliability,
            "multi_region_ratio": multi_region_ratio,
            "label_groundings": bool(label_groundings),
            "label_groundings_by_cluster": bool(label_groundings_by_cluster),
            "model_settings": None,
        }
        # Running [agree, chance, n] counts of the traces on labelled mentions.
        self._trace_counts = numpy.zeros((3,), dtype="float64")
        self._ema = None
        self._teacher = None
        self._last_losses: Dict[str, float] = {}
        self._threads_checked_in: Optional[int] = None

    # -- Prediction -----------------------------------------------------------

    @property
    def prefix(self) -> str:
        return self.cfg["span_cluster_prefix"]

    def get_mentions(self, doc: Doc) -> List[Tuple[int, int]]:
        """The mentions of a doc as sorted, unique `(start, end)` token offsets."""
        offsets = [(span.start, span.end) for span in self.mention_getter(doc) if span.end > span.start]
        if is_sorted_unique(offsets):
            return offsets  # the usual case
        return sorted(set(offsets))

    def _model_input(self, docs: List[Doc]) -> Tuple[MentionBatch, List[List[Tuple[int, int]]]]:
        mentions = [self.get_mentions(doc) for doc in docs]
        arrays = [self.model.ops.asarray2i(numpy.asarray(m, dtype="int32").reshape((-1, 2))) for m in mentions]
        return (docs, arrays), mentions

    def _require_initialized(self) -> None:
        if not is_built(self.model):
            raise ValueError(Errors.E105.format(name=self.name))

    def predict(self, docs: Iterable[Doc]) -> List[DocPrediction]:
        """Find mentions, score them and their groundings for a batch of docs."""
        docs = list(docs)
        self._require_initialized()
        self._one_thread_in_worker()
        check_regions(docs, self.cfg.get("regions"), self.name)  # regions like the training ones
        inputs, mentions = self._model_input(docs)
        with self._prediction_weights():
            outputs = self.model.predict(inputs)
        return decode(
            docs, mentions, outputs, self.model.ops,
            self.cfg["linkage"], self.cfg["threshold"], self.cfg["grounding_agreement"],
            self.model.attrs["max_mentions_per_chunk"], self.cfg.get("multi_region_ratio"),
        )

    def _one_thread_in_worker(self) -> None:
        """In a worker process (`nlp.pipe(n_process=...)`), run torch on one
        thread, as torch's DataLoader workers do: the workers share the cores,
        and GNU OpenMP's thread pool does not survive fork() (a forked worker
        that enters a parallel region hangs). Checked once per process."""
        pid = os.getpid()
        if self._threads_checked_in == pid:
            return
        self._threads_checked_in = pid
        if multiprocessing.parent_process() is not None:
            from ..ml.torch.threads import set_torch_threads

            set_torch_threads(1)

    def cluster(self, prediction: DocPrediction) -> List[List[int]]:
        """Cluster a doc's mentions: by best antecedent when the model ranks
        antecedents, else from their pairwise cosine similarities by `linkage`."""
        if not prediction.mentions:
            return []
        if prediction.antecedent_scores is not None:
            return cluster_by_antecedents(prediction.antecedent_scores, self.cfg["threshold"])
        return CLUSTERERS[self.cfg["linkage"]](prediction.similarities, self.cfg["threshold"])

    def set_annotations(self, docs: Iterable[Doc], predictions: List[DocPrediction]) -> None:
        """Write clusters, mentions and groundings to the docs."""
        key = self.cfg["mentions_key"]
        for doc, pred in zip(docs, predictions):
            clear_clusters(doc, self.prefix)
            spans = [Span(doc, start, end) for start, end in pred.mentions]
            groundings = pred.groundings
            set_span_values(spans, "grounding", groundings)
            doc.spans[key] = SpanGroup(doc, name=key, spans=spans)
            index = 0
            for cluster in pred.clusters:
                if len(cluster) < 2 and not self.cfg["write_singletons"]:
                    continue
                index += 1
                group = SpanGroup(doc, name=cluster_key(self.prefix, index), spans=[spans[j] for j in cluster])
                group.attrs["grounding"] = dict(cluster_grounding([groundings[j] for j in cluster]))
                doc.spans[group.name] = group

    # -- Training -------------------------------------------------------------

    def initialize(
        self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None
    ) -> None:
        """Infer the region feature width and detector-label vocabulary from the
        examples, build the model and store its settings in `cfg`. The sample
        that builds the model first goes through the components before this
        one in `nlp` (a parser that noun-chunk mentions need, say)."""
        validate_get_examples(get_examples, "MultimodalCoref.initialize")
        examples = list(get_examples())
        docs = [eg.predicted for eg in examples]
        if not is_built(self.model):
            width, labels = collect_region_settings(docs, self.model.attrs["max_region_labels"])
            if self.model.attrs["region_feature_width"] is None:
                self.model.attrs["region_feature_width"] = width or 0
            if self.model.attrs.get("region_labels") is None:
                self.model.attrs["region_labels"] = labels
        sample = docs[:10]
        if nlp is not None and self.name in nlp.component_names:
            # Frozen components are disabled while the others initialize; they run here too.
            sample = [doc.copy() for doc in sample]
            for _, component in nlp.components[: nlp.component_names.index(self.name)]:
                sample = list(component.pipe(sample))
        inputs, _ = self._model_input(sample)
        self.model.initialize(X=inputs)
        self._ema = None
        self._teacher = None
        self.cfg["model_settings"] = get_model_settings(self.model)
        # Which extractor the training regions came from, their width and labels.
        self.cfg["regions"] = describe_regions(docs, self.model.attrs["region_feature_width"])

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of labelled and/or unlabelled examples with one
        forward pass over all their docs."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        validate_examples(examples, "MultimodalCoref.update")
        examples = list(examples)
        self._require_initialized()
        if not any(len(eg.predicted) for eg in examples):
            return losses
        set_dropout_rate(self.model, drop)
        inputs, _ = self._model_input([eg.predicted for eg in examples])
        outputs, backprop = self.model.begin_update(inputs)
        teacher = None
        if self.cfg["label_prop_weight"] and self._label_prop_ramp() and outputs.batch is not None:
            if any(not get_clusters(eg.reference, self.prefix) for eg in examples):
                teacher = self._teacher_outputs(outputs)
        loss, d_outputs = self.get_loss(examples, outputs, teacher=teacher)
        backprop(d_outputs)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        for key, value in self._last_losses.items():
            losses[f"{self.name}_{key}"] = losses.get(f"{self.name}_{key}", 0.0) + value
        return losses

    def finish_update(self, sgd: Optimizer) -> None:
        """Update the weights, then their moving average (the EMA teacher)."""
        self.model.finish_update(sgd)
        if self.cfg["use_ema"] or self.cfg["label_prop_weight"]:
            from ..ml.torch.ema import WeightAverage

            if self._ema is None:
                self._ema = WeightAverage(self.model, self.cfg["ema_decay"])
            else:
                self._ema.update(self.model)

    def _label_prop_ramp(self) -> float:
        """The share of label_prop_weight in force: rises linearly from 0 over
        the first `label_prop_warmup` updates (the teacher is weak early on)."""
        warmup = self.cfg.get("label_prop_warmup", 0)
        if not warmup:
            return 1.0
        n_updates = 0 if self._ema is None else self._ema.n_updates
        return min(1.0, n_updates / warmup)

    def _teacher_outputs(self, outputs: CorefOutputs) -> CorefOutputs:
        """The EMA teacher's outputs on the batch of a training forward pass."""
        if self._ema is None:
            return rerun_module(self.model, outputs)
        if self._teacher is None:
            from ..ml.torch.ema import Teacher

            self._teacher = Teacher()
        return outputs.with_arrays(self._teacher(self.model, self._ema, outputs.batch))

    @contextmanager
    def _use_ema(self):
        """Use the averaged (teacher) weights inside the block, if there are any."""
        if self._ema is None:
            yield
        else:
            with self._ema.applied(self.model):
                yield

    def _prediction_weights(self):
        return self._use_ema() if self.cfg["use_ema"] else nullcontext()

    def get_loss(
        self, examples: Iterable[Example], outputs: CorefOutputs, teacher: Optional[CorefOutputs] = None
    ) -> Tuple[float, CorefOutputs]:
        """The weighted sum of the objectives and its gradient with respect to
        the model outputs. `teacher`: the EMA teacher's outputs on the same
        batch, for pseudo-labels on the unlabelled examples."""
        from ..ml.torch.losses import loss_and_gradient

        examples = list(examples)
        weights = {
            "coref": self.cfg["coref_weight"],
            "grounding": self.cfg["grounding_weight"],
            "bbox": self.cfg["bbox_weight"],
            "itc": self.cfg["itc_weight"],
            "label_prop": self.cfg["label_prop_weight"] * self._label_prop_ramp() if teacher is not None else 0.0,
        }
        reliability = self.trace_reliability
        traces = None
        if self.cfg.get("trace_weight"):
            traces = TraceSettings(
                self.model.attrs.get("trace_window", 1), self.cfg["trace_temperature"],
                self.cfg["trace_min_overlap"], reliability,
            )
        if outputs.embeddings.shape[0] == 0:
            self._last_losses = {name: 0.0 for name, w in weights.items() if w}
            return 0.0, outputs.with_arrays([self.model.ops.alloc(a.shape) for a in outputs.arrays])
        targets = build_targets(
            examples, outputs, teacher, self.model.ops,
            get_mentions=self.get_mentions,
            prefix=self.prefix,
            agreement_weight=self.cfg["grounding_agreement"],
            pseudo_coref_threshold=self.cfg["pseudo_coref_threshold"],
            pseudo_grounding_threshold=self.cfg["pseudo_grounding_threshold"],
            chunk=self.model.attrs["max_mentions_per_chunk"],
            traces=traces,
            label_groundings=self.cfg.get("label_groundings", False),
            label_groundings_by_cluster=self.cfg.get("label_groundings_by_cluster", False),
        )
        if traces is not None:
            # Older counts fade, so the estimate follows the data seen lately.
            self._trace_counts = 0.9 * self._trace_counts + targets.trace_agreement
            weights["trace"] = self.cfg["trace_weight"] * self.trace_reliability
        parts, grads = loss_and_gradient(
            outputs.arrays, targets, outputs.row_docs, outputs.n_regions,
            weights, self.cfg["temperature"], self.cfg["itc_temperature"],
            self.cfg["grounding_agreement"],
        )
        self._last_losses = parts
        total = sum(weights[name] * value for name, value in parts.items())
        return float(total), outputs.with_arrays(grads)

    @property
    def trace_reliability(self) -> float:
        """What the mouse traces are worth as grounding targets, 0..1: the
        `trace_reliability` setting, else their chance-corrected agreement
        with the gold regions of the labelled mentions seen lately (1 until
        a labelled mention with a trace was seen)."""
        if self.cfg.get("trace_reliability") is not None:
            return float(self.cfg["trace_reliability"])
        measured = chance_corrected_agreement(*self._trace_counts.tolist())
        return 1.0 if measured is None else measured

    def add_label(self, label: str) -> int:
        raise NotImplementedError(SpacyErrors.E931.format(parent="MultimodalCoref", method="add_label", name=self.name))

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        validate_examples(examples, "MultimodalCoref.score")
        if self.scorer is None:
            raise ConfigError(Errors.E108.format(name=self.name))
        return self.scorer(
            examples,
            span_cluster_prefix=self.prefix,
            mentions_key=self.cfg["mentions_key"],
            **kwargs,
        )

    # -- Serialization --------------------------------------------------------

    def _load_model(self, model_bytes: bytes, where: str = "") -> None:
        """Build the torch module with the widths in `cfg` (unless built),
        then load the weights; the moving average starts afresh. `where`
        names the weights in the error for damaged bytes (E144)."""
        settings = self.cfg.get("model_settings")
        if settings is not None and not is_built(self.model):
            build_torch_layer(self.model, settings)
        self._ema = None
        try:
            self.model.from_bytes(model_bytes)
        except AttributeError:
            raise ValueError(SpacyErrors.E149) from None
        except Exception as err:  # msgpack, zip or torch errors of damaged bytes
            where = where or f"of the '{self.name}' component"
            raise ConfigError(Errors.E144.format(path=where, error=f"{type(err).__name__}: {err}")) from err

    def _load_cfg(self, cfg: Any, where: str) -> None:
        """Take the saved settings, checking the clustering ones (E100, E141)."""
        if not isinstance(cfg, dict):
            raise ConfigError(Errors.E143.format(path=where, error=f"a JSON {type(cfg).__name__}, not an object"))
        check_clustering_settings(cfg.get("linkage", self.cfg["linkage"]), cfg.get("threshold", self.cfg["threshold"]), where)
        check_multi_region_ratio(cfg.get("multi_region_ratio"), where)
        self.cfg.update(cfg)

    def to_bytes(self, *, exclude=tuple()) -> bytes:
        serialize = {
            "cfg": lambda: srsly.json_dumps(self.cfg),
            "vocab": lambda: self.vocab.to_bytes(exclude=exclude),
            "model": self._model_bytes,
        }
        return util.to_bytes(serialize, exclude)

    def _model_bytes(self) -> bytes:
        """The model's bytes, with the averaged weights when predictions use them."""
        with self._prediction_weights():
            return self.model.to_bytes()

    def from_bytes(self, bytes_data: bytes, *, exclude=tuple()) -> "MultimodalCoref":
        msg = srsly.msgpack_loads(bytes_data)
        if "cfg" not in exclude and "cfg" in msg:
            self._load_cfg(srsly.json_loads(msg["cfg"]), f"cfg of the '{self.name}' component")
        if "vocab" not in exclude and "vocab" in msg:
            self.vocab.from_bytes(msg["vocab"], exclude=exclude)
        if "model" not in exclude and "model" in msg:
            self._load_model(msg["model"])
        return self

    def to_disk(self, path, *, exclude=tuple()) -> None:
        path = util.ensure_path(path)
        serialize = {
            "cfg": lambda p: srsly.write_json(p, self.cfg),
            "vocab": lambda p: self.vocab.to_disk(p, exclude=exclude),
            "model": lambda p: p.write_bytes(self._model_bytes()),
        }
        util.to_disk(path, serialize, exclude)

    def from_disk(self, path, *, exclude=tuple()) -> "MultimodalCoref":
        path = util.ensure_path(path)

        def load_cfg(p: Path) -> None:
            if not p.is_file():
                raise ConfigError(Errors.E142.format(path=str(p)))
            try:
                cfg = srsly.read_json(p)
            except ValueError as err:
                raise ConfigError(Errors.E143.format(path=str(p), error=err)) from err
            self._load_cfg(cfg, str(p))

        def load_model(p: Path) -> None:
            if not p.is_file():
                raise ConfigError(Errors.E144.format(path=str(p), error="no such file"))
            self._load_model(p.read_bytes(), str(p))

        deserialize = {
            "cfg": load_cfg,
            "vocab": lambda p: self.vocab.from_disk(p, exclude=exclude),
            "model": load_model,
        }
        util.from_disk(path, deserialize, exclude)
        return self


def find_coref_component(nlp: Language) -> Tuple[str, MultimodalCoref]:
    """The pipeline's multimodal_coref component and its name."""
    for name, pipe in nlp.pipeline:
        if isinstance(pipe, MultimodalCoref):
            return name, pipe
    raise ConfigError(Errors.E109)
