"""The `mcr_spacy.MultimodalCoref.v1` architecture: a tok2vec and the PyTorch
cross-modal module, wrapped as one thinc Model over batches of docs."""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, PyTorchGradScaler
from thinc.types import Floats2d, Floats3d, Ints2d

from ..errors import ConfigError, Errors
from ..annotation.extensions import get_doc_values
from ..annotation.gold import doc_name
from ..annotation.mention_attributes import N_MENTION_TYPES

# The model's input: docs, and per doc the mentions as [n, 2] token offsets
# (start, end exclusive).
MentionBatch = Tuple[List[Doc], List[Ints2d]]


@dataclass
class CorefOutputs:
    """Per-mention outputs of a batch, mentions of all docs concatenated in order.

    embeddings: [N, width] L2-normalised coreference embeddings.
    ground_logits: [N, R + 1] logits over "no region" (column 0) and the
        regions of the mention's doc (padded columns at a large negative value).
    box_deltas: [N, 4] box-refinement deltas (dx, dy, dw, dh).
    text_embeddings: [N, width] L2-normalised mentions before fusion, in the
        image-text contrastive space.
    region_embeddings: [rows, R, width] L2-normalised regions of each padded
        row, in the same space.
    antecedent_scores: [N, M + 1] mention-ranking scores (models with an
        antecedent scorer; else [N, 0]): column 0 the "new entity" dummy
        (score 0), column k + 1 the mention in slot k of the same row (rows
        hold up to `max_mentions_per_chunk` mentions of one doc, in order);
        candidates that are not earlier mentions score a large negative value.
    row_docs: the doc of each row (a doc with many mentions spans several rows).
    lengths: mentions per doc.
    n_regions: regions per doc.
    batch: the module's input arrays (to rerun it, e.g. with teacher weights).
    """

    embeddings: Floats2d
    ground_logits: Floats2d
    box_deltas: Floats2d
    text_embeddings: Floats2d
    region_embeddings: Floats3d
    antecedent_scores: Floats2d
    row_docs: List[int]
    lengths: List[int]
    n_regions: List[int]
    batch: Optional[Dict[str, Any]] = None

    @property
    def arrays(self) -> Tuple:
        return (
            self.embeddings, self.ground_logits, self.box_deltas,
            self.text_embeddings, self.region_embeddings, self.antecedent_scores,
        )

    def with_arrays(self, arrays: Sequence) -> "CorefOutputs":
        """The same layout with other arrays (e.g. gradients)."""
        return CorefOutputs(*arrays, self.row_docs, self.lengths, self.n_regions, self.batch)

    def doc_slices(self) -> List[slice]:
        starts = numpy.cumsum([0] + list(self.lengths))
        return [slice(int(starts[i]), int(starts[i + 1])) for i in range(len(self.lengths))]


@dataclass
class Targets:
    """Training targets, one row per mention of the batch (N mentions).

    doc_index: [N] the doc each mention belongs to.
    coref_mask: [N] mention takes part in the gold coreference loss.
    positives: [N, N] gold coreferent pairs (same doc, same gold cluster).
    ground_target: [N, R + 1] 1 for each acceptable grounding slot (0 = no region).
    ground_mask: [N] mention has a gold grounding target.
    box_source, box_gold: [N, 4] normalised `x1, y1, x2, y2` of the region the
        deltas refine and of the gold box; box_mask: [N] mention has both.
    pseudo_mask, pseudo_positives, pseudo_ground_target, pseudo_ground_mask:
        the same for the teacher's pseudo-labels on unlabelled docs.
    itc_docs: docs that take part in the image-text contrastive loss (with
        mentions and regions), as doc indices.
    antecedent_gold, pseudo_antecedents: [N, M + 1] gold (or the teacher's
        confident) antecedents in the layout of `CorefOutputs.antecedent_scores`,
        the dummy where a mention starts an entity; None for models without
        an antecedent scorer.
    trace_target, trace_mask: [N, R + 1] soft grounding targets from the mouse
        traces of docs without gold boxes, and [N] the mentions that have one;
        trace_agreement: [agree, chance, n] counts of the trace's best region
        being a gold one on labelled mentions. None without the trace loss.
    """

    doc_index: numpy.ndarray
    coref_mask: numpy.ndarray
    positives: numpy.ndarray
    ground_target: numpy.ndarray
    ground_mask: numpy.ndarray
    box_source: numpy.ndarray
    box_gold: numpy.ndarray
    box_mask: numpy.ndarray
    pseudo_mask: numpy.ndarray
    pseudo_positives: numpy.ndarray
    pseudo_ground_target: numpy.ndarray
    pseudo_ground_mask: numpy.ndarray
    itc_docs: numpy.ndarray
    antecedent_gold: Optional[numpy.ndarray] = None
    pseudo_antecedents: Optional[numpy.ndarray] = None
    trace_target: Optional[numpy.ndarray] = None
    trace_mask: Optional[numpy.ndarray] = None
    trace_agreement: Optional[numpy.ndarray] = None


@registry.architectures("mcr_spacy.MultimodalCoref.v1")
def build_multimodal_coref_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 128,
    n_heads: int = 4,
    n_layers: int = 2,
    dropout: float = 0.1,
    region_feature_width: Optional[int] = None,
    region_projection_rank: int = 0,
    region_self_attention: bool = True,
    itc_grounding: bool = False,
    max_region_labels: int = 5000,
    max_mentions_per_chunk: int = 128,
    sense2vec_path: Optional[str] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    trace_grounding: bool = False,
    trace_window: int = 1,
) -> Model[MentionBatch, CorefOutputs]:
    """Build the cross-modal coreference and grounding model.

    tok2vec: token vectors (own CNN, or a listener to a shared tok2vec or transformer).
    hidden_width: width of mention and region embeddings and of the fusion layers.
    n_heads, n_layers, dropout: the region/mention attention layers.
    region_feature_width: width D of region features; None infers it from the
        training data in `initialize` (0: the model uses labels and geometry only).
    region_projection_rank: project region features through a D x rank map
        first (a low-rank factorisation: far less work per region for 2048-d
        features); 0 projects them at full rank.
    region_self_attention: contextualise regions with one self-attention
        layer over the image before the mentions attend to them (quadratic in
        the number of regions; off for the cheapest CPU setting).
    itc_grounding: add the image-text contrastive similarity of a mention
        and a region (with a learned weight) to their grounding logit, so
        that what the contrastive loss learns on unlabelled images reaches
        grounding.
    max_region_labels: size limit of the detector-label vocabulary built in `initialize`.
    max_mentions_per_chunk: mentions attend to each other in chunks of this many;
        longer docs are split into several rows (every mention is still scored).
    sense2vec_path: a sense2vec table (Sense2Vec.to_disk folder) whose vector for
        each mention's phrase or last word is added to the mention; read in
        `initialize` and saved with the model.
    mixed_precision, grad_scaler: passed to the PyTorch shim (as by PyTorchWrapper_v2).
    trace_grounding: add the overlap of each region with the narrator's mouse
        trace during the mention (`doc._.trace_boxes`), as it is and as a
        log, with learned weights, to the mention's grounding logits. Off by
        default; a doc without traces gets exactly the logits it gets
        without this option.
    trace_window: the largest pointer lag, in tokens, that a doc's traces
        are read at (the pointer lags or leads the words by about the same
        over a narration; the lag is chosen per doc); also used by the
        trace loss.
    """
    if hidden_width % n_heads != 0:
        raise ConfigError(Errors.E110.format(hidden_width=hidden_width, n_heads=n_heads))
    if region_projection_rank < 0:
        raise ConfigError(Errors.E111.format(value=region_projection_rank))
    if max_mentions_per_chunk < 1:
        raise ConfigError(Errors.E112)
    if trace_window < 0:
        raise ConfigError(Errors.E181.format(name="trace_window", rule="an integer >= 0", value=trace_window))
    return Model(
        "mcr_multimodal_coref",
        forward,
        init=init,
        layers=[tok2vec],
        refs={"tok2vec": tok2vec},
        attrs={
            "hidden_width": hidden_width,
            "n_heads": n_heads,
            "n_layers": n_layers,
            "dropout": dropout,
            "region_feature_width": region_feature_width,
            "region_projection_rank": region_projection_rank,
            "region_self_attention": region_self_attention,
            "itc_grounding": itc_grounding,
            "region_labels": None,
            "max_region_labels": max_region_labels,
            "max_mentions_per_chunk": max_mentions_per_chunk,
            "extra_width": 0,
            "sense2vec_path": sense2vec_path,
            "sense2vec_table": None,
            "mixed_precision": mixed_precision,
            "grad_scaler": grad_scaler,
            "antecedent_width": 0,
            "trace_grounding": trace_grounding,
            "trace_window": trace_window,
        },
    )


@registry.architectures("mcr_spacy.MultimodalCoref.v2")
def build_multimodal_coref_model_v2(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 128,
    n_heads: int = 4,
    n_layers: int = 2,
    dropout: float = 0.1,
    region_feature_width: Optional[int] = None,
    region_projection_rank: int = 0,
    region_self_attention: bool = True,
    itc_grounding: bool = False,
    max_region_labels: int = 5000,
    max_mentions_per_chunk: int = 128,
    sense2vec_path: Optional[str] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    antecedent_width: int = 64,
    trace_grounding: bool = False,
    trace_window: int = 1,
) -> Model[MentionBatch, CorefOutputs]:
    """`mcr_spacy.MultimodalCoref.v1` (same settings) with a mention-ranking
    head: each mention scores every earlier mention of its chunk and a "new
    entity" dummy from the two fused mention embeddings and pair features
    (string and head match, word overlap, the pair of mention types that
    carries gender, number and animacy agreement, mention and sentence
    distance, nesting, same speaker, agreement of their groundings). The
    component links each mention to its best antecedent; the v1 cosine
    embeddings stay, for label propagation's pairs.

    antecedent_width: hidden width of the pair scorer.
    trace_grounding, trace_window: as for v1.
    """
    if antecedent_width < 1:
        raise ConfigError(Errors.E126.format(value=antecedent_width))
    model = build_multimodal_coref_model(
        tok2vec, hidden_width, n_heads, n_layers, dropout, region_feature_width, region_projection_rank,
        region_self_attention, itc_grounding, max_region_labels, max_mentions_per_chunk, sense2vec_path,
        mixed_precision, grad_scaler, trace_grounding, trace_window,
    )
    model.attrs["antecedent_width"] = antecedent_width
    return model


@registry.architectures("mcr_spacy.MultimodalCoref.v3")
def build_multimodal_coref_model_v3(
    tok2vec: Model[List[Doc], List[Floats2d]],
    hidden_width: int = 128,
    n_heads: int = 4,
    n_layers: int = 2,
    dropout: float = 0.1,
    region_feature_width: Optional[int] = None,
    region_projection_rank: int = 0,
    region_self_attention: bool = True,
    itc_grounding: bool = False,
    max_region_labels: int = 5000,
    max_mentions_per_chunk: int = 128,
    sense2vec_path: Optional[str] = None,
    mixed_precision: bool = False,
    grad_scaler: Optional[PyTorchGradScaler] = None,
    antecedent_width: int = 64,
    feature_logit_scale: float = 10.0,
    anaphoricity: bool = True,
    trace_grounding: bool = False,
    trace_window: int = 1,
    label_grounding: bool = False,
) -> Model[MentionBatch, CorefOutputs]:
    """`mcr_spacy.MultimodalCoref.v2` (same settings) whose pair scorer also
    adds a learned logit per value of each pair feature straight to the score
    (a log-linear model beside its MLP): on a few hundred real dialogs it
    learns what the rule baseline knows (agreement, string and head match)
    quickly enough that the mention embeddings no longer override it.

    feature_logit_scale: the scale the feature logits are stored divided by
        (their pace of learning; 0 leaves them out, as v2).
    anaphoricity: give the scorer, for each noun phrase, whether an earlier
        one has its text or head, its determiner and whether it follows a
        copula: what tells a new entity ("a surfboard") from a predicate
        ("is it a puppy") or a repeated one ("the dog").
    label_grounding: add a learned logit to the grounding score of every
        region whose detector label the mention names (see
        `annotation.label_names`: "the bikes" and a "bicycle" region), so
        that labels seen rarely in training still ground by their names.
    """
    if not feature_logit_scale >= 0:
        raise ConfigError(Errors.E181.format(name="feature_logit_scale", rule="a number >= 0", value=feature_logit_scale))
    model = build_multimodal_coref_model_v2(
        tok2vec, hidden_width, n_heads, n_layers, dropout, region_feature_width, region_projection_rank,
        region_self_attention, itc_grounding, max_region_labels, max_mentions_per_chunk, sense2vec_path,
        mixed_precision, grad_scaler, antecedent_width, trace_grounding, trace_window,
    )
    model.attrs["feature_logit_scale"] = float(feature_logit_scale)
    model.attrs["anaphoricity"] = bool(anaphoricity)
    model.attrs["label_grounding"] = bool(label_grounding)
    return model


SETTINGS_KEYS = ("token_width", "region_feature_width", "region_labels", "extra_width")


def get_model_settings(model: Model) -> Dict[str, Any]:
    """The data-dependent widths and vocabulary the torch module was built with,
    for the component's `cfg` (so that `from_disk` can rebuild it)."""
    return {key: model.attrs.get(key) for key in SETTINGS_KEYS}


def build_torch_layer(model: Model, settings: Dict[str, Any]) -> None:
    """Create the PyTorch module with the given widths and add it to `model`."""
    from .torch.module import MultimodalCorefModule
    from .torch.wrapper import wrap_module

    for key in SETTINGS_KEYS:
        model.attrs[key] = settings[key]
    labels = settings["region_labels"] or []
    model.attrs["label_ids"] = {label: i + 1 for i, label in enumerate(labels)}
    module = MultimodalCorefModule(
        token_width=settings["token_width"],
        width=model.attrs["hidden_width"],
        feature_width=settings["region_feature_width"] or 0,
        n_labels=len(labels),
        n_heads=model.attrs["n_heads"],
        n_layers=model.attrs["n_layers"],
        dropout=model.attrs["dropout"],
        extra_width=settings["extra_width"] or 0,
        projection_rank=model.attrs.get("region_projection_rank") or 0,
        region_self_attention=model.attrs.get("region_self_attention", True),
        itc_grounding=model.attrs.get("itc_grounding", False),
        antecedent_width=model.attrs.get("antecedent_width", 0),
        n_mention_types=N_MENTION_TYPES,
        trace_grounding=model.attrs.get("trace_grounding", False),
        feature_logit_scale=model.attrs.get("feature_logit_scale", 0.0),
        anaphoricity=model.attrs.get("anaphoricity", False),
        label_grounding=model.attrs.get("label_grounding", False),
    )
    wrapper = wrap_module(module, model.attrs["mixed_precision"], model.attrs["grad_scaler"])
    if model.has_ref("torch"):
        raise ValueError(Errors.E113)
    model._layers.append(wrapper)
    model.set_ref("torch", wrapper)


def is_built(model: Model) -> bool:
    return model.has_ref("torch")


def collect_region_settings(docs: Sequence[Doc], max_labels: int) -> Tuple[Optional[int], List[str]]:
    """The feature width and the detector-label vocabulary (by frequency, then
    alphabetically; at most `max_labels`) of some docs' regions."""
    width: Optional[int] = None
    counts: Dict[str, int] = {}
    for doc in docs:
        regions = doc._.image_regions
        if regions is None:
            continue
        if regions.features is not None:
            if width is None:
                width = regions.feature_width
            elif regions.feature_width != width:
                raise ConfigError(Errors.E114.format(doc=doc_name(doc), width=regions.feature_width, other=width))
        for label in regions.labels or []:
            key = label.lower()
            counts[key] = counts.get(key, 0) + 1
    labels = sorted(counts, key=lambda label: (-counts[label], label))[:max_labels]
    return width, sorted(labels)


def init(model: Model, X: Optional[MentionBatch] = None, Y: Any = None) -> None:
    tok2vec = model.get_ref("tok2vec")
    docs = X[0] if X is not None else None
    tok2vec.initialize(X=docs)
    if is_built(model):
        return
    if model.attrs.get("token_width") is None:
        if tok2vec.has_dim("nO") and tok2vec.get_dim("nO"):
            model.attrs["token_width"] = tok2vec.get_dim("nO")
        elif docs:
            model.attrs["token_width"] = tok2vec.predict(docs[:1])[0].shape[1]
        else:
            raise ConfigError(Errors.E115)
    if model.attrs["sense2vec_path"] and model.attrs["sense2vec_table"] is None:
        from .mention_features import MentionSenseVectors, load_sense2vec_bytes

        model.attrs["sense2vec_table"] = load_sense2vec_bytes(model.attrs["sense2vec_path"])
        model.attrs["extra_width"] = MentionSenseVectors(model.attrs["sense2vec_table"]).width
    if model.attrs.get("region_labels") is None:
        width, labels = collect_region_settings(docs or [], model.attrs["max_region_labels"])
        if model.attrs["region_feature_width"] is None:
            model.attrs["region_feature_width"] = width or 0
        model.attrs["region_labels"] = labels
    build_torch_layer(model, get_model_settings(model))


def forward(model: Model, inputs: MentionBatch, is_train: bool) -> Tuple[CorefOutputs, Callable]:
    docs, mentions = inputs
    tok2vec = model.get_ref("tok2vec")
    if not is_built(model):
        raise ValueError(Errors.E116)
    tokvecs, backprop_tok2vec = tok2vec(docs, is_train)
    lengths = [len(m) for m in mentions]
    n_regions = [0 if regions is None else len(regions) for regions in get_doc_values(docs, "image_regions")]
    if sum(lengths) == 0:
        outputs = empty_outputs(model, lengths, n_regions)

        def backprop_empty(d_outputs: CorefOutputs) -> List[Doc]:
            backprop_tok2vec([model.ops.alloc2f(*t.shape) for t in tokvecs])
            return []

        return outputs, backprop_empty
    from .batch import build_batch

    batch, row_docs = build_batch(model, docs, mentions, tokvecs)
    arrays, backprop_torch = model.get_ref("torch")(batch, is_train)
    outputs = CorefOutputs(*arrays, row_docs, lengths, n_regions, batch if is_train else None)

    def backprop(d_outputs: CorefOutputs) -> List[Doc]:
        d_flat = backprop_torch(d_outputs.arrays)
        backprop_tok2vec(model.ops.unflatten(d_flat, [len(t) for t in tokvecs]))
        return []

    return outputs, backprop


def rerun_module(model: Model, outputs: CorefOutputs) -> CorefOutputs:
    """Run the cross-modal module again, without gradients, on the batch of a
    training forward pass (same token vectors): e.g. under teacher weights."""
    if outputs.batch is None:
        return outputs
    arrays, _ = model.get_ref("torch")(outputs.batch, False)
    return outputs.with_arrays(arrays)


def empty_outputs(model: Model, lengths: List[int], n_regions: List[int]) -> CorefOutputs:
    width = model.attrs["hidden_width"]
    r = max(n_regions, default=0) + 1
    return CorefOutputs(
        model.ops.alloc2f(0, width),
        model.ops.alloc2f(0, r),
        model.ops.alloc2f(0, 4),
        model.ops.alloc2f(0, width),
        model.ops.alloc3f(0, r - 1, width),
        model.ops.alloc2f(0, 0),
        [],
        lengths,
        n_regions,
    )
