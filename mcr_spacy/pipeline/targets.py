"""From gold annotation to training targets: what `MultimodalCoref.update`
learns from a batch of examples (gold clusters, gold boxes, and the EMA
teacher's pseudo-labels on unlabelled examples)."""
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Set, Tuple

import numpy
from scipy.special import softmax
from spacy.tokens import Doc
from spacy.training import Example

from ..annotation.boxes import box_iou
from ..annotation.clusters import get_clusters
from ..annotation.gold import doc_name
from ..annotation.label_names import named_regions
from ..errors import AlignmentError, ConfigError, Errors
from ..ml.model import CorefOutputs, Targets
from ..ml.traces import doc_trace_boxes, mention_trace_overlap, point_regions, trace_target
from .decoding import grounding_probs, similarities

GoldByMention = Dict[Tuple[int, int], Tuple[int, Any]]


def gold_by_mention(eg: Example, prefix: str) -> Optional[GoldByMention]:
    """Gold cluster index and grounding per predicted-doc token offsets, or
    None when the reference has no gold clusters (an unlabelled example)."""
    clusters = get_clusters(eg.reference, prefix)
    if not clusters:
        return None
    if eg.reference.text != eg.predicted.text:
        raise AlignmentError(Errors.E106.format(reference=doc_name(eg.reference), predicted=doc_name(eg.predicted)))
    gold = {}
    for c, cluster in enumerate(clusters):
        for span in cluster:
            pred = eg.predicted.char_span(span.start_char, span.end_char)
            if pred is None:
                pred = eg.predicted.char_span(span.start_char, span.end_char, alignment_mode="expand")
            if pred is None:
                raise AlignmentError(Errors.E107.format(
                    text=span.text, start=span.start_char, end=span.end_char, doc=doc_name(eg.reference)
                ))
            gold[(pred.start, pred.end)] = (c, span._.grounding)
    return gold


def build_targets(
    examples: List[Example],
    outputs: CorefOutputs,
    teacher: Optional[CorefOutputs],
    ops: Any,
    *,
    get_mentions: Callable[[Doc], List[Tuple[int, int]]],
    prefix: str,
    agreement_weight: float,
    pseudo_coref_threshold: float,
    pseudo_grounding_threshold: float,
    chunk: int,
    traces: Optional["TraceSettings"] = None,
    label_groundings: bool = False,
    label_groundings_by_cluster: bool = False,
) -> Targets:
    """The training targets of a batch: gold coreferent pairs, acceptable
    grounding slots and box targets of the labelled examples' mentions
    (`get_mentions` of their predicted docs, in the order of `outputs`), and
    the `teacher`'s confident pairs and groundings on the unlabelled ones.
    With an antecedent scorer, also the gold antecedents (in the layout of
    `CorefOutputs.antecedent_scores`, mentions in rows of `chunk`) and the
    teacher's confident antecedents. With `traces`, also the trace targets
    of the unlabelled examples' mentions (see `add_trace_targets`). With
    `label_groundings`, noun phrases without gold boxes are grounded to the
    regions whose labels they name, and with `label_groundings_by_cluster`
    every mention of their gold cluster (see `add_label_targets`)."""
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
        teacher_emb = ops.to_numpy(teacher.embeddings)
        teacher_logits = ops.to_numpy(teacher.ground_logits)
    for i, (eg, rows) in enumerate(zip(examples, outputs.doc_slices())):
        doc_index[rows] = i
        regions = eg.predicted._.image_regions
        if rows.stop > rows.start and regions is not None and len(regions):
            itc_docs.append(i)
        gold = gold_by_mention(eg, prefix)
        if gold is None:
            if teacher is not None and rows.stop > rows.start:
                pseudo_mask[rows] = True
                probs = grounding_probs(teacher_logits[rows, : outputs.n_regions[i] + 1])
                sim = similarities(teacher_emb[rows], probs, agreement_weight)
                pseudo_positives[rows, rows] = sim > pseudo_coref_threshold
                confident = probs.max(axis=1) > pseudo_grounding_threshold
                for j in numpy.nonzero(confident)[0].tolist():
                    pseudo_ground_target[rows.start + j, int(probs[j].argmax())] = 1.0
                    pseudo_ground_mask[rows.start + j] = True
            continue
        coref_mask[rows] = True
        for j, key in zip(range(rows.start, rows.stop), get_mentions(eg.predicted)):
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
        if label_groundings and regions is not None and regions.labels is not None:
            add_label_targets(
                eg.predicted, get_mentions(eg.predicted), gold, list(regions.labels), rows.start,
                ground_target, ground_mask, by_cluster=label_groundings_by_cluster,
            )
    trace = None
    if traces is not None:
        trace = add_trace_targets(
            examples, outputs, get_mentions, traces, ground_target, ground_mask,
            pseudo_ground_target, pseudo_ground_mask,
        )
    positives = (cluster[:, None] == cluster[None, :]) & (cluster[:, None] >= 0)
    positives &= doc_index[:, None] == doc_index[None, :]
    numpy.fill_diagonal(pseudo_positives, False)
    antecedent_gold = pseudo_antecedents = None
    n_columns = outputs.antecedent_scores.shape[1]
    if n_columns:
        antecedent_gold = gold_antecedents(positives, coref_mask, outputs.doc_slices(), chunk, n_columns)
        if teacher is not None:
            pseudo_antecedents = confident_antecedents(
                ops.to_numpy(teacher.antecedent_scores), pseudo_mask, pseudo_coref_threshold
            )
    return Targets(
        doc_index, coref_mask, positives, ground_target, ground_mask, box_source,
        box_gold, box_mask, pseudo_mask, pseudo_positives, pseudo_ground_target,
        pseudo_ground_mask, numpy.asarray(itc_docs, dtype="int64"),
        antecedent_gold, pseudo_antecedents,
        *(trace if trace is not None else (None, None, None)),
    )


def add_label_targets(
    doc: Doc, mentions: List[Tuple[int, int]], gold: GoldByMention, labels: List[str], first_row: int,
    ground_target: numpy.ndarray, ground_mask: numpy.ndarray, by_cluster: bool = False,
) -> None:
    """Grounding targets from region labels: every noun phrase of `doc` that
    names one or more region labels ("the bikes" a "bicycle") may ground to
    any of those regions, unless its gold cluster has gold boxes. By default
    the target comes from the phrase's own words, never from its cluster, so
    pronouns get none: how well they ground is what the model learns from the
    phrases. With `by_cluster`, every other gold mention of a cluster whose
    phrases name labels (pronouns included) may ground to the regions all of
    them name, else to any of them. `mentions` are the rows of `doc` from
    `first_row` on; `ground_target` and `ground_mask` change in place."""
    boxed = {cluster_id for cluster_id, grounding in gold.values() if grounding is not None and "boxes" in grounding}
    spans = {(int(start), int(end)) for start, end in mentions} | (set(gold) if by_cluster else set())
    named_by_span = {(start, end): set(named_regions(doc[start:end], labels)) for start, end in spans}
    phrases_by_cluster: Dict[int, List[Set[int]]] = {}
    if by_cluster:
        for span, (cluster_id, _) in gold.items():
            if named_by_span[span] and cluster_id not in boxed:
                phrases_by_cluster.setdefault(cluster_id, []).append(named_by_span[span])
    named_by_cluster = {
        cluster_id: set.intersection(*phrases) or set.union(*phrases)
        for cluster_id, phrases in phrases_by_cluster.items()
    }
    for row, (start, end) in enumerate(mentions, start=first_row):
        cluster_id = gold[(start, end)][0] if (start, end) in gold else None
        if cluster_id in boxed:
            continue
        named = named_by_span[(int(start), int(end))] or named_by_cluster.get(cluster_id, set())
        if named:
            ground_target[row] = 0.0
            ground_target[row, [region + 1 for region in sorted(named)]] = 1.0
            ground_mask[row] = True


class TraceSettings(NamedTuple):
    """How mouse traces become grounding targets: the largest pointer lag
    `window` a doc's traces are read at, the overlaps' softmax `temperature`,
    the `min_overlap` below which a trace points at nothing, and the traces'
    current `reliability` (agreement with gold groundings beyond that of a
    trace read at random moments, 0..1)."""

    window: int
    temperature: float
    min_overlap: float
    reliability: float


def add_trace_targets(
    examples: List[Example], outputs: CorefOutputs, get_mentions: Callable[[Doc], List[Tuple[int, int]]],
    settings: TraceSettings, ground_target: numpy.ndarray, ground_mask: numpy.ndarray,
    pseudo_ground_target: numpy.ndarray, pseudo_ground_mask: numpy.ndarray,
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Soft grounding targets from the mouse traces of the docs without gold
    boxes (`trace_target`, [N, R + 1], "no region" column 0), their mask, and
    `[agree, chance, n]` counts of how often the trace's best region is a gold
    one on labelled mentions (for the traces' reliability).

    A confident teacher and the trace may disagree on a mention's region:
    then the source trusted more wins. When the traces' reliability is at
    least 0.5 the trace target stays and the teacher's pseudo-label is
    dropped (`pseudo_ground_mask` is changed in place); below, the trace
    target is dropped. Where they agree, both stay."""
    n, width = ground_target.shape
    target = numpy.zeros((n, width), dtype="float32")
    mask = numpy.zeros((n,), dtype="bool")
    counts = numpy.zeros((3,), dtype="float64")
    for i, (eg, rows) in enumerate(zip(examples, outputs.doc_slices())):
        regions = eg.predicted._.image_regions
        if rows.stop == rows.start or regions is None or len(regions) == 0:
            continue
        trace = doc_trace_boxes(eg.predicted)
        if trace is None:
            continue
        spans = numpy.asarray(get_mentions(eg.predicted), dtype="int64").reshape((-1, 2))
        overlap = mention_trace_overlap(trace, spans, regions.normalized_boxes(), settings.window)
        soft = trace_target(overlap, settings.temperature, settings.min_overlap)
        has_target = soft.any(axis=1)
        best = 1 + overlap.argmax(axis=1)
        if ground_mask[rows].any():  # labelled: measure, do not train on it
            counts += trace_agreement_counts(
                trace, regions.normalized_boxes(), ground_target[rows], ground_mask[rows] & has_target, best
            )
            continue
        if not has_target.any():
            continue
        teacher_says = pseudo_ground_mask[rows]
        conflict = teacher_says & has_target & (pseudo_ground_target[rows].argmax(axis=1) != best)
        if settings.reliability >= 0.5:
            pseudo_ground_mask[rows] &= ~conflict
        else:
            has_target &= ~conflict
        target[rows, 1 : 1 + soft.shape[1]] = soft * has_target[:, None]
        mask[rows] = has_target
    return target, mask, counts


def trace_agreement_counts(
    trace: numpy.ndarray, region_boxes: numpy.ndarray, ground_target: numpy.ndarray,
    measured: numpy.ndarray, best: numpy.ndarray,
) -> numpy.ndarray:
    """`[agree, chance, n]` over a labelled doc's `measured` mentions: how
    often the region their trace points at most (`best`, a column of
    `ground_target`) is a gold one, and how often it would be if the trace
    were read at a random moment of the same narration (the region each
    trace point overlaps most, averaged over the points). So a trace that
    points at the things of the image but not when they are named (pure
    timing noise) agrees at chance, whatever the doc's regions."""
    if not measured.any():
        return numpy.zeros((3,), dtype="float64")
    acceptable = ground_target[measured] > 0
    agree = acceptable[numpy.arange(len(acceptable)), best[measured]].sum()
    points = trace[trace[:, 2:4].max(axis=1) > 0, :4]
    point_best = 1 + point_regions(points, region_boxes)
    chance = acceptable[:, point_best].mean(axis=1).sum() if len(point_best) else 0.0
    return numpy.asarray([agree, chance, measured.sum()], dtype="float64")


def gold_antecedents(
    positives: numpy.ndarray, labelled: numpy.ndarray, docs: List[slice], chunk: int, n_columns: int
) -> numpy.ndarray:
    """[N, n_columns] bool: for each labelled mention, its earlier mentions of
    the same gold cluster and chunk (column 1 + slot), or the "new entity"
    dummy (column 0) when it has none; all False for unlabelled mentions."""
    gold = numpy.zeros((positives.shape[0], n_columns), dtype="bool")
    for rows in docs:
        within = numpy.arange(rows.stop - rows.start)
        candidate = (within[:, None] // chunk == within[None, :] // chunk) & (within[None, :] < within[:, None])
        mention, antecedent = numpy.nonzero(positives[rows, rows] & candidate)
        gold[rows.start + mention, 1 + antecedent % chunk] = True
    gold[:, 0] = labelled & ~gold[:, 1:].any(axis=1)
    return gold


def confident_antecedents(scores: numpy.ndarray, unlabelled: numpy.ndarray, threshold: float) -> numpy.ndarray:
    """[N, M + 1] bool: the teacher's best antecedent (or the dummy) of each
    unlabelled mention whose probability for it is above `threshold`."""
    probs = softmax(scores.astype("float64"), axis=1)
    best = probs.argmax(axis=1)
    confident = unlabelled & (probs[numpy.arange(len(best)), best] > threshold)
    pseudo = numpy.zeros(scores.shape, dtype="bool")
    pseudo[numpy.nonzero(confident)[0], best[confident]] = True
    return pseudo


def check_trace_settings(weight: float, temperature: float, min_overlap: float, reliability: Optional[float]) -> None:
    """Refuse trace-loss settings that cannot work (E181)."""
    for name, value, ok, rule in (
        ("trace_weight", weight, weight >= 0, "a number >= 0"),
        ("trace_temperature", temperature, temperature > 0, "a number > 0"),
        ("trace_min_overlap", min_overlap, 0 <= min_overlap <= 1, "a number in [0, 1]"),
        ("trace_reliability", reliability, reliability is None or 0 <= reliability <= 1, "null or a number in [0, 1]"),
    ):
        if not ok or (value is not None and not numpy.isfinite(value)):
            raise ConfigError(Errors.E181.format(name=name, rule=rule, value=value))
