"""Grounding targets from region labels (`label_groundings`): noun phrases
without gold boxes learn to ground to the regions whose labels they name."""
import numpy
import spacy
from spacy.language import Language

from mcr_spacy.annotation.clusters import get_clusters
from mcr_spacy.annotation.gold import make_example
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.pipeline.targets import add_label_targets, gold_by_mention

from ..util import coref_nlp, make_examples
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
