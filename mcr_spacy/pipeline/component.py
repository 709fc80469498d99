"""The `multimodal_coref` pipeline component."""
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy
import srsly
from spacy import util
from spacy.errors import Errors
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer, set_dropout_rate

from ..annotation.boxes import apply_deltas_many, box_iou
from .decoding import CLUSTERERS, cluster_many
from ..errors import AlignmentError, ConfigError
from ..annotation.extensions import DEFAULT_CLUSTER_PREFIX, get_doc_values, set_span_values
from ..annotation.gold import doc_name
from .mentions import is_sorted_unique
from ..ml.model import (
    CorefOutputs, MentionBatch, build_torch_layer, collect_region_settings,
    get_model_settings, is_built, rerun_module,
)
from ..annotation.clusters import clear_clusters, cluster_key, get_clusters

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


@Language.factory(
    "multimodal_coref",
    assigns=["doc.spans", "span._.grounding"],
    requires=["doc._.image_regions"],
    default_config={
        "model": DEFAULT_MODEL,
        "mention_getter": {"@misc": "mcr_spacy.span_group_mentions.v1", "key": "mentions"},
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
) -> "MultimodalCoref":
    """Create a multimodal_coref component: finds mentions, clusters the ones
    that corefer and grounds every mention and cluster to an image region.

    Labelled examples (reference docs with gold clusters) train the coref,
    grounding and bbox losses; every example trains the image-text contrastive
    loss (itc); unlabelled examples train on the EMA teacher's confident
    pseudo-labels (label_prop). A weight of 0 switches an objective off."""
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
    )


@dataclass
class DocPrediction:
    """What the model says about one doc's mentions."""

    mentions: List[Tuple[int, int]]
    clusters: List[List[int]]
    similarities: numpy.ndarray
    # Per mention: {"region", "box", "score", "refined_box"} (`span._.grounding`).
    groundings: List[Dict[str, Any]]


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
        span_cluster_prefix: str = DEFAULT_CLUSTER_PREFIX,
        mentions_key: str = "coref_mentions",
        threshold: float = 0.5,
        linkage: str = "transitive",
        write_singletons: bool = False,
        coref_weight: float = 1.0,
        grounding_weight: float = 1.0,
        bbox_weight: float = 1.0,
        temperature: float = 0.1,
        grounding_agreement: float = 0.0,
        itc_weight: float = 0.0,
        itc_temperature: float = 0.1,
        label_prop_weight: float = 0.0,
        pseudo_coref_threshold: float = 0.9,
        pseudo_grounding_threshold: float = 0.9,
        label_prop_warmup: int = 0,
        use_ema: bool = False,
        ema_decay: float = 0.999,
        scorer: Optional[Callable] = None,
    ) -> None:
        if linkage not in CLUSTERERS:
            raise ConfigError(
                f"linkage must be one of {sorted(CLUSTERERS)}, got {linkage!r}."
            )
        if temperature <= 0 or itc_temperature <= 0:
            raise ConfigError(
                f"temperature and itc_temperature must be positive, got {temperature} "
                f"and {itc_temperature}."
            )
        if not 0.0 <= grounding_agreement <= 1.0:
            raise ConfigError(f"grounding_agreement must be in [0, 1], got {grounding_agreement}.")
        if label_prop_warmup < 0:
            raise ConfigError(f"label_prop_warmup must be 0 or a number of updates, got {label_prop_warmup}.")
        if not 0.0 <= ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {ema_decay}.")
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
            "model_settings": None,
        }
        self._ema = None
        self._teacher = None
        self._last_losses: Dict[str, float] = {}

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
            raise ValueError(
                f"The '{self.name}' component is not initialized. Call nlp.initialize() "
                f"with training examples (or train it with `spacy train`) before using it."
            )

    def predict(self, docs: Iterable[Doc]) -> List[DocPrediction]:
        """Find mentions, score them and their groundings for a batch of docs."""
        docs = list(docs)
        self._require_initialized()
        inputs, mentions = self._model_input(docs)
        with self._prediction_weights():
            outputs = self.model.predict(inputs)
        embeddings = self.model.ops.to_numpy(outputs.embeddings)
        # Padded region slots hold a large negative logit: their probability
        # is 0, so one softmax over the batch equals each doc's own.
        probs = _softmax(self.model.ops.to_numpy(outputs.ground_logits), dtype="float32")
        deltas = self.model.ops.to_numpy(outputs.box_deltas)
        n = probs.shape[0]
        best = probs.argmax(axis=1) if n else numpy.zeros((0,), dtype="int64")
        scores = probs[numpy.arange(n), best].tolist()
        regions = get_doc_values(docs, "image_regions")
        doc_of = numpy.repeat(numpy.arange(len(docs)), outputs.lengths)
        grounded = numpy.nonzero(best > 0)[0]
        slots = best - 1  # -1: no region
        boxes = numpy.zeros((n, 4), dtype="float64")
        refined = numpy.zeros((n, 4), dtype="float64")
        if len(grounded):
            # Every doc's boxes in one table: a mention's box is row
            # first_box[doc] + slot, and its image size that of its doc.
            with_regions = [r for r in regions if r is not None and len(r)]
            counts = [0 if r is None else len(r) for r in regions]
            first_box = numpy.cumsum([0] + counts[:-1])
            all_boxes = numpy.concatenate([r.boxes for r in with_regions]).astype("float64")
            doc_sizes = numpy.asarray(
                [(1.0, 1.0) if r is None else r.image_size for r in regions], dtype="float64"
            )
            grounded_docs = doc_of[grounded]
            boxes[grounded] = all_boxes[first_box[grounded_docs] + slots[grounded]]
            refined[grounded] = apply_deltas_many(boxes[grounded], deltas[grounded], doc_sizes[grounded_docs])
        groundings = [
            {"region": slot, "box": box, "score": score, "refined_box": ref}
            if slot >= 0
            else {"region": None, "box": None, "score": score, "refined_box": None}
            for slot, box, ref, score in zip(slots.tolist(), boxes.tolist(), refined.tolist(), scores)
        ]
        sims = self._batch_similarities(embeddings, probs, outputs.lengths, outputs.n_regions)
        clusters = cluster_many(self.cfg["linkage"], sims, outputs.lengths, self.cfg["threshold"])
        predictions = []
        for i, (doc_mentions, rows) in enumerate(zip(mentions, outputs.doc_slices())):
            n = len(doc_mentions)
            predictions.append(DocPrediction(doc_mentions, clusters[i], sims[i, :n, :n], groundings[rows]))
        return predictions

    def _batch_similarities(
        self, embeddings: numpy.ndarray, probs: numpy.ndarray, lengths: List[int], n_regions: List[int]
    ) -> numpy.ndarray:
        """Pairwise coreference scores of every doc of a batch at once (see
        `_similarities`): [D, M, M], doc d's scores in its first `lengths[d]`
        rows and columns."""
        n_docs, n_slots = len(lengths), max(lengths, default=0)
        doc_of = numpy.repeat(numpy.arange(n_docs), lengths)
        position = numpy.arange(len(doc_of)) - (numpy.cumsum(lengths) - lengths)[doc_of]
        padded = numpy.zeros((n_docs, n_slots, embeddings.shape[1]), dtype=embeddings.dtype)
        padded[doc_of, position] = embeddings
        sim = numpy.matmul(padded, padded.transpose(0, 2, 1))
        weight = self.cfg["grounding_agreement"]
        if weight and probs.shape[1] > 1:
            # Regions past a doc's own have probability 0: the product over
            # the batch's padded columns is the doc's own.
            grounded = numpy.zeros((n_docs, n_slots, probs.shape[1] - 1), dtype=probs.dtype)
            grounded[doc_of, position] = probs[:, 1:]
            with_regions = numpy.asarray(n_regions) > 0
            keep = numpy.where(with_regions, 1.0 - weight, 1.0).astype(sim.dtype)[:, None, None]
            mix = numpy.where(with_regions, weight, 0.0)[:, None, None]
            sim = keep * sim + mix * numpy.matmul(grounded, grounded.transpose(0, 2, 1))
        return sim

    def _similarities(self, embeddings: numpy.ndarray, probs: numpy.ndarray) -> numpy.ndarray:
        """Pairwise coreference scores of one doc's mentions: embedding cosine
        mixed with the probability of being grounded to the same region
        (`probs` over "no region" and the doc's regions). A doc without
        regions has nothing to agree on: its scores are the cosines."""
        return self._batch_similarities(embeddings, probs, [len(embeddings)], [probs.shape[1] - 1])[0]

    def cluster(self, prediction: DocPrediction) -> List[List[int]]:
        """Cluster a doc's mentions from their pairwise cosine similarities."""
        if not prediction.mentions:
            return []
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
        examples, build the model and store its settings in `cfg`."""
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
        inputs, _ = self._model_input(sample)
        self.model.initialize(X=inputs)
        self._ema = None
        self._teacher = None
        self.cfg["model_settings"] = get_model_settings(self.model)

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
        if outputs.embeddings.shape[0] == 0:
            self._last_losses = {name: 0.0 for name, w in weights.items() if w}
            return 0.0, outputs.with_arrays([self.model.ops.alloc(a.shape) for a in outputs.arrays])
        targets = self._targets(examples, outputs, teacher)
        parts, grads = loss_and_gradient(
            outputs.arrays, targets, outputs.row_docs, outputs.n_regions,
            weights, self.cfg["temperature"], self.cfg["itc_temperature"],
            self.cfg["grounding_agreement"],
        )
        self._last_losses = parts
        total = sum(weights[name] * value for name, value in parts.items())
        return float(total), outputs.with_arrays(grads)

    def _targets(self, examples: List[Example], outputs: CorefOutputs, teacher: Optional[CorefOutputs]):
        from ..ml.torch.losses import Targets

        n = int(sum(outputs.lengths))
        width = outputs.ground_logits.shape[1]
        doc_index = numpy.zeros((n,), dtype="int64")
        cluster = numpy.full((n,), -1, dtype="int64")
        coref_mask = numpy.zeros((n,), dtype="bool")
        ground_target = numpy.zeros((n, width), dtype="float32")
        ground_mask = numpy.zeros((n,), dtype="bool")
        box_source = numpy.zeros((n, 4), dtype="float32")
        box_gold = numpy.zeros((n, 4), dtype="float32")
        box_mask = numpy.zeros((n,), dtype="bool")
        pseudo_mask = numpy.zeros((n,), dtype="bool")
        pseudo_positives = numpy.zeros((n, n), dtype="bool")
        pseudo_ground_target = numpy.zeros((n, width), dtype="float32")
        pseudo_ground_mask = numpy.zeros((n,), dtype="bool")
        itc_docs = []
        if teacher is not None:
            teacher_emb = self.model.ops.to_numpy(teacher.embeddings)
            teacher_logits = self.model.ops.to_numpy(teacher.ground_logits)
        for i, (eg, rows) in enumerate(zip(examples, outputs.doc_slices())):
            doc_index[rows] = i
            regions = eg.predicted._.image_regions
            if rows.stop > rows.start and regions is not None and len(regions):
                itc_docs.append(i)
            gold = self._gold_by_mention(eg)
            if gold is None:
                if teacher is not None and rows.stop > rows.start:
                    pseudo_mask[rows] = True
                    probs = _softmax(teacher_logits[rows, : outputs.n_regions[i] + 1])
                    sim = self._similarities(teacher_emb[rows], probs)
                    pseudo_positives[rows, rows] = sim > self.cfg["pseudo_coref_threshold"]
                    confident = probs.max(axis=1) > self.cfg["pseudo_grounding_threshold"]
                    for j in numpy.nonzero(confident)[0].tolist():
                        pseudo_ground_target[rows.start + j, int(probs[j].argmax())] = 1.0
                        pseudo_ground_mask[rows.start + j] = True
                continue
            coref_mask[rows] = True
            mentions = self.get_mentions(eg.predicted)
            for j, key in zip(range(rows.start, rows.stop), mentions):
                if key not in gold:
                    continue
                cluster_id, grounding = gold[key]
                cluster[j] = cluster_id
                if grounding is None or "boxes" not in grounding:
                    continue
                ground_mask[j] = True
                gold_boxes = numpy.asarray(list(grounding["boxes"]), dtype="float32").reshape((-1, 4))
                if regions is None or len(regions) == 0 or len(gold_boxes) == 0:
                    ground_target[j, 0] = 1.0
                    continue
                iou = box_iou(gold_boxes, regions.boxes)
                best = iou.argmax(axis=1)
                for g, r in enumerate(best.tolist()):
                    if iou[g, r] > 0:
                        ground_target[j, r + 1] = 1.0
                if not ground_target[j].any():
                    ground_target[j, 0] = 1.0
                    continue
                g, r = numpy.unravel_index(int(iou.argmax()), iou.shape)
                size = numpy.asarray(regions.image_size * 2, dtype="float32")
                box_source[j] = regions.normalized_boxes()[r, :4]
                box_gold[j] = numpy.clip(gold_boxes[g] / size, 0.0, 1.0)
                box_mask[j] = True
        positives = (cluster[:, None] == cluster[None, :]) & (cluster[:, None] >= 0)
        positives &= doc_index[:, None] == doc_index[None, :]
        numpy.fill_diagonal(pseudo_positives, False)
        return Targets(
            doc_index, coref_mask, positives, ground_target, ground_mask, box_source,
            box_gold, box_mask, pseudo_mask, pseudo_positives, pseudo_ground_target,
            pseudo_ground_mask, numpy.asarray(itc_docs, dtype="int64"),
        )

    def _gold_by_mention(self, eg: Example) -> Optional[Dict[Tuple[int, int], Tuple[int, Any]]]:
        """Gold cluster index and grounding per predicted-doc token offsets, or
        None when the reference has no gold clusters (an unlabelled example)."""
        clusters = get_clusters(eg.reference, self.prefix)
        if not clusters:
            return None
        if eg.reference.text != eg.predicted.text:
            raise AlignmentError(
                f"The gold clusters of {doc_name(eg.reference)} are on a different text "
                f"than the predicted doc ({doc_name(eg.predicted)}). Build both docs of "
                f"the Example from the same text."
            )
        gold = {}
        for c, cluster in enumerate(clusters):
            for span in cluster:
                pred = eg.predicted.char_span(span.start_char, span.end_char)
                if pred is None:
                    pred = eg.predicted.char_span(span.start_char, span.end_char, alignment_mode="expand")
                if pred is None:
                    raise AlignmentError(
                        f"Gold mention {span.text!r} at characters [{span.start_char}, "
                        f"{span.end_char}) of {doc_name(eg.reference)} does not map onto "
                        f"the predicted doc's tokens. Check the gold offsets."
                    )
                gold[(pred.start, pred.end)] = (c, span._.grounding)
        return gold

    def add_label(self, label: str) -> int:
        raise NotImplementedError(Errors.E931.format(parent="MultimodalCoref", method="add_label", name=self.name))

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        validate_examples(examples, "MultimodalCoref.score")
        if self.scorer is None:
            raise ConfigError(f"The '{self.name}' component has no scorer configured.")
        return self.scorer(
            examples,
            span_cluster_prefix=self.prefix,
            mentions_key=self.cfg["mentions_key"],
            **kwargs,
        )

    # -- Serialization --------------------------------------------------------

    def _build_from_cfg(self) -> None:
        settings = self.cfg.get("model_settings")
        if settings is not None and not is_built(self.model):
            build_torch_layer(self.model, settings)

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
            self.cfg.update(srsly.json_loads(msg["cfg"]))
        if "vocab" not in exclude and "vocab" in msg:
            self.vocab.from_bytes(msg["vocab"], exclude=exclude)
        if "model" not in exclude and "model" in msg:
            self._build_from_cfg()
            self._ema = None
            try:
                self.model.from_bytes(msg["model"])
            except AttributeError:
                raise ValueError(Errors.E149) from None
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
            if p.exists():
                self.cfg.update(srsly.read_json(p))

        def load_model(p: Path) -> None:
            self._build_from_cfg()
            self._ema = None
            try:
                with p.open("rb") as file_:
                    self.model.from_bytes(file_.read())
            except AttributeError:
                raise ValueError(Errors.E149) from None

        deserialize = {
            "cfg": load_cfg,
            "vocab": lambda p: self.vocab.from_disk(p, exclude=exclude),
            "model": load_model,
        }
        util.from_disk(path, deserialize, exclude)
        return self


def _softmax(logits: numpy.ndarray, dtype: str = "float64") -> numpy.ndarray:
    logits = numpy.asarray(logits, dtype=dtype)
    if logits.shape[0] == 0:
        return logits
    exp = numpy.exp(logits - logits.max(axis=1, keepdims=True))
    exp /= exp.sum(axis=1, keepdims=True)
    return exp


def cluster_grounding(groundings: List[Dict[str, Any]]) -> Dict[str, Any]:
    """A cluster's grounding: that of its most confident mention grounded to a
    region, or of its most confident mention when none is."""
    grounded = [g for g in groundings if g["region"] is not None]
    pool = grounded or groundings
    return max(pool, key=lambda g: g["score"])


def find_coref_component(nlp: Language) -> Tuple[str, MultimodalCoref]:
    """The pipeline's multimodal_coref component and its name."""
    for name, pipe in nlp.pipeline:
        if isinstance(pipe, MultimodalCoref):
            return name, pipe
    raise ConfigError("The pipeline has no multimodal_coref component.")
