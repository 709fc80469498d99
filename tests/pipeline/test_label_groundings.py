"""Grounding targets from region labels (`label_groundings`): noun phrases
without gold boxes learn to ground to the regions whose labels they name."""
import numpy
import spacy
from spacy.language import Language

from mcr_spacy.annotation.clusters import get_clusters
from mcr_spacy.annotation.gold import make_example
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.annotation.label_names import label_matrix, named_regions
from mcr_spacy.pipeline.component import DEFAULT_MODEL
from mcr_spacy.pipeline.targets import add_label_targets, gold_by_mention

from ..util import SMALL_MODEL, coref_nlp, make_examples
from .test_component import train
from .test_traces import gold_regions, grounding_accuracy


def without_boxes(examples):
    """The examples with their gold boxes removed (clusters kept)."""
    for eg in examples:
        for cluster in get_clusters(eg.reference, "coref_clusters"):
            for span in cluster:
                span._.grounding = None
    return examples


def test_label_groundings_are_off_by_default():
    assert Language.get_factory_meta("multimodal_coref").default_config["label_groundings"] is False


def test_targets_are_the_regions_each_noun_phrase_names():
    nlp = spacy.blank("en")
    text = "A man holds two dogs. He likes them. The sky is blue."
    man, dogs, he, them, sky = (0, 5), (12, 20), (22, 24), (31, 35), (37, 44)
    regions = ImageRegions(numpy.asarray([[0, 0, 10, 10]] * 4, dtype="float32"), labels=["dog", "person", "dog", "kite"], image_size=(10, 10))
    eg = make_example(nlp, text, [[man, he], [dogs, them], [sky]], None, regions)
    gold = gold_by_mention(eg, "coref_clusters")
    mentions = sorted(gold)
    target = numpy.zeros((len(mentions) + 2, 5), dtype="float32")
    mask = numpy.zeros((len(mentions) + 2,), dtype="bool")
    add_label_targets(eg.predicted, mentions, gold, list(regions.labels), 2, target, mask)
    slots = {eg.predicted[a:b].text: numpy.nonzero(target[row])[0].tolist() for row, (a, b) in enumerate(mentions, start=2)}
    # Pronouns get no target: it would come from their gold cluster.
    assert slots == {"A man": [2], "He": [], "two dogs": [1, 3], "them": [], "The sky": []}
    assert mask.tolist() == [False, False, True, True, False, False, False]


def test_clusters_with_gold_boxes_keep_them():
    nlp = coref_nlp(write_singletons=True, label_groundings=True)
    examples = make_examples(nlp, n=2)
    eg = examples[0]
    gold = gold_by_mention(eg, "coref_clusters")
    mentions = sorted(gold)
    target = numpy.zeros((len(mentions), 4), dtype="float32")
    mask = numpy.zeros((len(mentions),), dtype="bool")
    add_label_targets(eg.predicted, mentions, gold, list(eg.predicted._.image_regions.labels), 0, target, mask)
    assert not mask.any()


def test_label_groundings_teach_grounding_without_gold_boxes():
    """Docs whose regions are labelled but whose mentions have no gold box:
    with label_groundings the component learns to ground them (pronouns
    included); without, grounding is not trained at all."""
    accuracy = {}
    for setting in (False, True):
        nlp = coref_nlp(write_singletons=True, label_groundings=setting, label_prop_weight=0.0, itc_weight=0.0)
        labelled = make_examples(nlp, n=8)
        examples = without_boxes(make_examples(nlp, n=8))
        train(nlp, examples, steps=40)
        accuracy[setting] = grounding_accuracy(nlp, labelled)
    assert accuracy[True] > 0.9
    assert accuracy[True] > accuracy[False] + 0.3


def named_regions_of(nlp, examples):
    """Per noun phrase of the examples with a region it names: whether the
    pipeline grounds it to such a region."""
    out = []
    for eg in examples:
        doc = nlp(eg.predicted.copy())
        labels = doc._.image_regions.labels
        for span in doc.spans["coref_mentions"]:
            named = named_regions(span, labels)
            if named:
                out.append(span._.grounding["region"] in named)
    return out


def test_label_grounding_feature_grounds_by_name_before_any_training():
    """The model feature adds a logit to the regions a mention names: before
    training, noun phrases already ground to them; without it, the
    initialised model grounds them no better than chance."""
    found = {}
    for setting in (False, True):
        nlp = spacy.blank("en")
        model = {**DEFAULT_MODEL, **SMALL_MODEL, "@architectures": "mcr_spacy.MultimodalCoref.v3",
                 "antecedent_width": 16, "label_grounding": setting}
        nlp.add_pipe("multimodal_coref", config={"model": model, "write_singletons": True})
        examples = without_boxes(make_examples(nlp, n=8))
        spacy.util.fix_random_seed(0)
        nlp.initialize(lambda: examples)
        found[setting] = named_regions_of(nlp, examples)
    # "A man" and the thing held, in each of the 8 docs
    assert len(found[True]) == 16 and all(found[True])
    assert sum(found[False]) <= 12


def test_label_matrix():
    doc = spacy.blank("en")("A man holds two dogs . He likes them .")
    matrix = label_matrix(doc, [(0, 2), (3, 5), (6, 7)], ["dog", "person", "", "dog"])
    assert matrix.tolist() == [[0, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0]]


def test_targets_by_cluster_reach_the_pronouns():
    nlp = spacy.blank("en")
    text = "A man holds two dogs. He likes them. The dog barks at the sky."
    man, dogs, he, them, dog, sky = (0, 5), (12, 20), (22, 24), (31, 35), (37, 44), (54, 61)
    labels = ["dog", "person", "dog", "kite"]
    regions = ImageRegions(numpy.asarray([[0, 0, 10, 10]] * 4, dtype="float32"), labels=labels, image_size=(10, 10))
    eg = make_example(nlp, text, [[man, he], [dogs, them, dog], [sky]], None, regions)
    gold = gold_by_mention(eg, "coref_clusters")
    mentions = sorted(gold)
    target = numpy.zeros((len(mentions), 5), dtype="float32")
    mask = numpy.zeros((len(mentions),), dtype="bool")
    add_label_targets(eg.predicted, mentions, gold, labels, 0, target, mask, by_cluster=True)
    slots = {eg.predicted[a:b].text: numpy.nonzero(target[row])[0].tolist() for row, (a, b) in enumerate(mentions)}
    # each pronoun gets the regions its cluster's phrases name; "the sky" names none
    assert slots == {"A man": [2], "He": [2], "two dogs": [1, 3], "them": [1, 3], "The dog": [1, 3], "the sky": []}
    assert mask.tolist() == [True, True, True, True, True, False]


def test_label_groundings_by_cluster_are_off_by_default():
    assert Language.get_factory_meta("multimodal_coref").default_config["label_groundings_by_cluster"] is False


def test_component_passes_by_cluster_to_the_targets(monkeypatch):
    import mcr_spacy.pipeline.targets as targets

    calls = []
    original = targets.add_label_targets

    def recording(*args, by_cluster=False, **kwargs):
        calls.append(by_cluster)
        return original(*args, by_cluster=by_cluster, **kwargs)

    monkeypatch.setattr(targets, "add_label_targets", recording)
    for setting in (False, True):
        nlp = coref_nlp(write_singletons=True, label_groundings=True, label_groundings_by_cluster=setting)
        examples = without_boxes(make_examples(nlp, n=2))
        train(nlp, examples, steps=1)
        assert calls and set(calls) == {setting}
        calls.clear()
