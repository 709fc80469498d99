"""Each training objective lowers its own loss; the EMA teacher predicts and is saved."""
import pytest
import spacy
import torch
from spacy.training import Example

from ..util import SMALL_MODEL, coref_nlp, make_examples, predictions

OBJECTIVES = ("coref", "grounding", "bbox", "itc", "label_prop")


def make_nlp(**config):
    return coref_nlp(**{"use_ema": False, **config})


def unlabelled(examples):
    """The same docs without gold clusters (only regions and mentions)."""
    out = []
    for eg in examples:
        reference = eg.predicted.copy()
        out.append(Example(eg.predicted.copy(), reference))
    return out


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_objective_lowers_its_loss(objective):
    weights = {f"{name}_weight": 0.0 for name in OBJECTIVES}
    weights[f"{objective}_weight"] = 1.0
    extra = {}
    if objective == "label_prop":
        extra = {"pseudo_coref_threshold": 0.3, "pseudo_grounding_threshold": 0.3, "ema_decay": 0.9}
    nlp = make_nlp(**weights, **extra)
    spacy.util.fix_random_seed(0)
    examples = make_examples(nlp, n=6)
    if objective == "label_prop":
        examples = unlabelled(examples)
    optimizer = nlp.initialize(lambda: examples)
    history = []
    for _ in range(15):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
        history.append(losses[f"multimodal_coref_{objective}"])
    assert set(k for k in losses if k.startswith("multimodal_coref_")) == {f"multimodal_coref_{objective}"}
    assert history[0] > 0
    assert sum(history[-3:]) / 3 < 0.7 * history[0], history


def test_unlabelled_examples_train_only_unlabelled_objectives():
    nlp = make_nlp(label_prop_weight=1.0, itc_weight=1.0, pseudo_coref_threshold=0.3)
    examples = unlabelled(make_examples(nlp, n=4))
    optimizer = nlp.initialize(lambda: examples)
    losses = nlp.update(examples, sgd=optimizer)
    assert losses["multimodal_coref_coref"] == 0.0
    assert losses["multimodal_coref_grounding"] == 0.0
    assert losses["multimodal_coref_itc"] > 0.0


def test_mixed_batch_of_labelled_and_unlabelled():
    nlp = make_nlp(label_prop_weight=1.0, itc_weight=0.1)
    labelled = make_examples(nlp, n=4)
    mixed = labelled[:2] + unlabelled(labelled[2:])
    optimizer = nlp.initialize(lambda: mixed)
    for _ in range(3):
        losses = nlp.update(mixed, sgd=optimizer)
    assert losses["multimodal_coref_coref"] > 0.0
    assert "multimodal_coref_label_prop" in losses


def test_ema_weights_predict_and_are_saved(tmp_path):
    nlp = make_nlp(use_ema=True, ema_decay=0.999)
    examples = make_examples(nlp, n=4)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(10):
        nlp.update(examples, sgd=optimizer)
    coref = nlp.get_pipe("multimodal_coref")
    assert coref._ema.differs_from(coref.model)
    docs = [eg.predicted.copy() for eg in examples]
    module = coref.model.get_ref("torch").shims[0]._model
    before = {k: v.clone() for k, v in module.state_dict().items()}
    with_ema = [predictions(nlp(d.copy())) for d in docs]
    # The averages are swapped in for prediction only: the online weights come back.
    after = module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert coref._ema.differs_from(coref.model)
    coref.cfg["use_ema"] = False
    online = [predictions(nlp(d.copy())) for d in docs]
    coref.cfg["use_ema"] = True
    assert with_ema != online
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    loaded.get_pipe("multimodal_coref").cfg["use_ema"] = False  # its weights are the averages
    assert [predictions(loaded(d.copy())) for d in docs] == with_ema


def test_label_prop_warmup_ramps_its_weight():
    """With label_prop_warmup = N the pseudo-label loss is off until the moving
    average has been updated once (the first update only creates it), then its
    weight rises linearly to label_prop_weight over N updates of the average."""
    nlp = make_nlp(
        label_prop_weight=1.0, itc_weight=0.0, label_prop_warmup=4,
        pseudo_coref_threshold=0.3, pseudo_grounding_threshold=0.3, ema_decay=0.9,
    )
    coref = nlp.get_pipe("multimodal_coref")
    examples = unlabelled(make_examples(nlp, n=4))
    optimizer = nlp.initialize(lambda: examples)
    ramps = []
    for _ in range(7):
        ramps.append(coref._label_prop_ramp())
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
        if ramps[-1] == 0.0:
            assert "multimodal_coref_label_prop" not in losses
        else:
            assert losses["multimodal_coref_label_prop"] > 0.0
    # No average before the first update; updates 1..4 of the average ramp it up.
    assert ramps == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    with pytest.raises(Exception, match="label_prop_warmup"):
        make_nlp(label_prop_warmup=-1)


def grounding_accuracy(nlp, examples) -> float:
    """How often the two noun mentions ("A man", "a dog") are grounded to
    their gold regions (0 and 1)."""
    right = total = 0
    for doc in nlp.pipe(eg.predicted.copy() for eg in examples):
        spans = sorted(doc.spans["coref_mentions"], key=lambda s: s.start)
        for span, gold in zip(spans[:2], (0, 1)):
            right += span._.grounding["region"] == gold
            total += 1
    return right / total


def test_itc_grounding_carries_the_contrastive_loss_to_grounding():
    """Trained on unlabelled examples with the image-text contrastive loss
    alone, mentions learn to pick their regions only when `itc_grounding`
    adds the contrastive similarity to the grounding logits."""
    accuracy = {}
    for tied in (False, True):
        weights = {f"{name}_weight": 0.0 for name in OBJECTIVES}
        nlp = make_nlp(**{**weights, "itc_weight": 1.0}, model={**SMALL_MODEL, "itc_grounding": tied})
        spacy.util.fix_random_seed(0)
        examples = make_examples(nlp, n=16, with_labels=False)
        optimizer = nlp.initialize(lambda: unlabelled(examples))
        for _ in range(40):
            nlp.update(unlabelled(examples), sgd=optimizer, drop=0.0)
        accuracy[tied] = grounding_accuracy(nlp, examples)
    assert accuracy[True] >= 0.6, accuracy
    assert accuracy[True] > accuracy[False] + 0.25, accuracy
