"""Mouse traces in the component: the trace loss, its reliability and
conflicts with the teacher, and the trace-overlap grounding feature."""
import numpy
import pytest
import torch
from spacy.language import Language
from spacy.training import Example

from mcr_spacy import ConfigError
from mcr_spacy.annotation.boxes import box_iou
from mcr_spacy.annotation.clusters import get_clusters
from mcr_spacy.ml.model import CorefOutputs
from mcr_spacy.pipeline.targets import TraceSettings, add_trace_targets

from ..util import SMALL_MODEL, coref_nlp, make_examples, predictions
from .test_component import train

FEATURE_MODEL = {**SMALL_MODEL, "trace_grounding": True}


def gold_regions(eg):
    """(token start, token end, region) of each gold mention with a box."""
    regions = eg.predicted._.image_regions
    out = []
    for cluster in get_clusters(eg.reference, "coref_clusters"):
        for span in cluster:
            boxes = (span._.grounding or {}).get("boxes")
            if boxes:
                region = int(box_iou(numpy.asarray(boxes), regions.boxes).max(axis=0).argmax())
                out.append((span.start, span.end, region))
    return out


def add_traces(examples, point_at=None, seed=0):
    """Per-token traces on each doc: the tokens of each gold mention with a
    box point at its region (or at `point_at(region, n_regions)`)."""
    rng = numpy.random.default_rng(seed)
    for eg in examples:
        doc = eg.predicted
        boxes = doc._.image_regions.normalized_boxes()
        trace = numpy.zeros((len(doc), 5), dtype="float32")
        for start, end, region in gold_regions(eg):
            if point_at is not None:
                region = point_at(region, len(boxes), rng)
            trace[start:end] = boxes[region]
        doc._.trace_boxes = trace
        eg.reference._.trace_boxes = trace


def shuffle_traces(examples, seed=0):
    """Each doc's trace points in a random order (as `shuffle-traces`)."""
    rng = numpy.random.default_rng(seed)
    for eg in examples:
        trace = eg.predicted._.trace_boxes
        eg.predicted._.trace_boxes = eg.reference._.trace_boxes = trace[rng.permutation(len(trace))]


def unlabelled(examples):
    """The same docs with traces but without gold."""
    out = []
    for eg in examples:
        doc = eg.predicted.copy()
        reference = doc.copy()
        reference.spans.clear()
        out.append(Example(doc, reference))
    return out


def test_traces_are_off_by_default():
    config = Language.get_factory_meta("multimodal_coref").default_config
    assert config["trace_weight"] == 0.0
    nlp = coref_nlp()
    assert nlp.get_pipe("multimodal_coref").model.attrs["trace_grounding"] is False


@pytest.mark.parametrize(
    "setting", [{"trace_weight": -1.0}, {"trace_temperature": 0.0}, {"trace_min_overlap": 1.5}, {"trace_reliability": 2.0}]
)
def test_bad_trace_settings(setting):
    with pytest.raises(ConfigError, match=r"\[E181\]"):
        coref_nlp(**setting)
    with pytest.raises(ConfigError, match=r"\[E181\]"):
        coref_nlp(model={**SMALL_MODEL, "trace_window": -1})


def test_feature_changes_nothing_without_traces_and_uses_them_when_present():
    nlp = coref_nlp(write_singletons=True, model=dict(FEATURE_MODEL))
    examples = make_examples(nlp, n=8)
    add_traces(examples)
    train(nlp, examples, steps=10)
    coref = nlp.get_pipe("multimodal_coref")
    with_traces = examples[0].predicted.copy()
    without = examples[0].predicted.copy()
    without._.trace_boxes = None
    before = (predictions(nlp(with_traces.copy())), predictions(nlp(without.copy())))
    weight = coref.model.get_ref("torch").shims[0]._model.trace_grounding
    with coref._use_ema():
        saved = weight.data.clone()
        weight.data.zero_()
        ignored = (predictions(nlp(with_traces.copy())), predictions(nlp(without.copy())))
        weight.data.copy_(saved)
    # A doc without traces gets exactly the predictions of a model that ignores traces.
    assert before[1] == ignored[1]
    # With traces, the feature moves the grounding scores.
    assert [p[4] for p in before[0]] != [p[4] for p in ignored[0]]


def test_trace_loss_teaches_grounding_on_docs_without_gold():
    """Unlabelled docs whose traces point at the right regions: the trace loss
    alone (no gold grounding) learns to ground their mentions."""
    nlp = coref_nlp(trace_weight=1.0, grounding_weight=0.0, bbox_weight=0.0, label_prop_weight=0.0, itc_weight=0.0, use_ema=False)
    labelled = make_examples(nlp, n=8)
    add_traces(labelled)
    examples = unlabelled(labelled)
    losses = train(nlp, examples, steps=40)
    assert losses["multimodal_coref_trace"] < 0.3
    assert grounding_accuracy(nlp, labelled) > 0.9


def test_reliability_is_measured_on_labelled_mentions():
    nlp = coref_nlp(trace_weight=1.0)
    examples = make_examples(nlp, n=8)
    add_traces(examples)
    train(nlp, examples, steps=2)
    assert nlp.get_pipe("multimodal_coref").trace_reliability == pytest.approx(1.0)
    # Traces that always point at another region than the gold one: worthless.
    nlp = coref_nlp(trace_weight=1.0)
    examples = make_examples(nlp, n=8)
    add_traces(examples, point_at=lambda region, n, rng: (region + 1) % n)
    train(nlp, examples, steps=2)
    assert nlp.get_pipe("multimodal_coref").trace_reliability == 0.0
    # Traces that point at the named things, but at random moments (each
    # doc's trace points in a random order, as the shuffled control): about
    # as good as a trace read at random, so worth (almost) nothing.
    nlp = coref_nlp(trace_weight=1.0)
    examples = make_examples(nlp, n=8)
    add_traces(examples)
    shuffle_traces(examples)
    train(nlp, examples, steps=2)
    assert nlp.get_pipe("multimodal_coref").trace_reliability < 0.2
    # A fixed reliability is taken as it is.
    nlp = coref_nlp(trace_weight=1.0, trace_reliability=0.25)
    assert nlp.get_pipe("multimodal_coref").trace_reliability == 0.25


def conflict_setup(reliability):
    nlp = coref_nlp()
    labelled = make_examples(nlp, n=2)
    add_traces(labelled)
    mentions = [[(s, e) for s, e, _ in gold_regions(eg)] for eg in labelled]
    examples = unlabelled(labelled)
    lengths = [len(m) for m in mentions]
    n, width = sum(lengths), 4
    outputs = CorefOutputs(*(numpy.zeros((n, 1)),) * 6, [0, 1], lengths, [3, 3])
    # The teacher is confident of "no region" for every mention: a conflict
    # with each trace, which points at a region.
    pseudo_target = numpy.zeros((n, width), dtype="float32")
    pseudo_target[:, 0] = 1.0
    pseudo_mask = numpy.ones((n,), dtype="bool")
    settings = TraceSettings(window=0, temperature=0.1, min_overlap=0.3, reliability=reliability)
    by_doc = {id(eg.predicted): m for eg, m in zip(examples, mentions)}
    target, mask, _ = add_trace_targets(
        examples, outputs, lambda doc: by_doc[id(doc)], settings, numpy.zeros((n, width), "float32"),
        numpy.zeros((n,), "bool"), pseudo_target, pseudo_mask,
    )
    return target, mask, pseudo_mask


def test_conflicts_go_to_the_source_trusted_more():
    target, mask, pseudo_mask = conflict_setup(reliability=0.9)
    assert mask.all() and not pseudo_mask.any()  # reliable traces win
    assert numpy.allclose(target.sum(axis=1), 1.0) and not target[:, 0].any()
    target, mask, pseudo_mask = conflict_setup(reliability=0.1)
    assert not mask.any() and pseudo_mask.all()  # unreliable traces give way


def grounding_accuracy(nlp, labelled):
    right = total = 0
    for eg in labelled:
        doc = nlp(eg.predicted.copy())
        by_offsets = {(s.start, s.end): s._.grounding["region"] for s in doc.spans["coref_mentions"]}
        for start, end, region in gold_regions(eg):
            total += 1
            right += by_offsets.get((start, end)) == region
    return right / total


def test_shuffled_traces_neither_help_nor_hurt_much():
    """Traces that point at a random region of the image: measured as worth
    nothing on the labelled docs, so the trace loss stays (almost) silent."""
    def run(trace_weight):
        nlp = coref_nlp(trace_weight=trace_weight, use_ema=False)
        labelled = make_examples(nlp, n=6)
        add_traces(labelled, point_at=lambda region, n, rng: int(rng.integers(n)), seed=1)
        train(nlp, labelled + unlabelled(labelled), steps=20)
        return nlp, labelled

    with_traces, labelled = run(1.0)
    without, _ = run(0.0)
    assert with_traces.get_pipe("multimodal_coref").trace_reliability < 0.5
    assert abs(grounding_accuracy(with_traces, labelled) - grounding_accuracy(without, labelled)) <= 0.1


def test_feature_learns_a_smaller_weight_for_noise_traces():
    """The feature's weights come from the gold groundings: traces that point
    at the right regions are weighted up, traces in a random order down."""
    def learned(shuffle):
        nlp = coref_nlp(model=dict(FEATURE_MODEL), use_ema=False)
        examples = make_examples(nlp, n=8)
        add_traces(examples)
        if shuffle:
            shuffle_traces(examples)
        train(nlp, examples, steps=30)
        return trace_logit_gap(nlp)

    nlp = coref_nlp(model=dict(FEATURE_MODEL))
    nlp.initialize(lambda: make_examples(nlp, n=2))
    start = trace_logit_gap(nlp)
    real, noise = learned(False), learned(True)
    assert noise < start < real


def trace_logit_gap(nlp):
    """How much the trace feature favours a region the trace overlaps by 0.6
    over one it does not touch."""
    module = nlp.get_pipe("multimodal_coref").model.get_ref("torch").shims[0]._model
    with torch.no_grad():
        logits = module.trace_logits(torch.tensor([[[0.0, 0.1, 0.6]]]))[0, 0]
    return float(logits[2] - logits[0])
