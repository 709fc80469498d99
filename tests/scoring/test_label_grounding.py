"""Grounding scored by detector labels, on a hand-made doc with known answers."""
import numpy
import pytest
import spacy

from mcr_spacy.annotation.gold import annotate_gold
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.scoring.label_grounding import label_grounding_accuracy, labelled_mentions, majority_labels, predicted_labels

NLP = spacy.blank("en")
TEXT = "A man holds a dog. He likes it. The sky is blue."
MAN, DOG, HE, IT, SKY = (0, 5), (12, 17), (19, 21), (28, 30), (32, 39)


def regions(labels):
    return ImageRegions(numpy.asarray([[0, 0, 10, 10]] * len(labels), dtype="float32"), labels=labels, image_size=(10, 10))


def reference(labels=("person", "dog", "person")):
    doc = annotate_gold(NLP.make_doc(TEXT), [[MAN, HE], [DOG, IT], [SKY]], None)
    doc._.image_regions = regions(list(labels))
    return doc


def predicted(grounded_to, labels=("person", "dog", "person")):
    """A predicted doc whose mentions are grounded to the regions `grounded_to` (None: no region)."""
    doc = NLP.make_doc(TEXT)
    doc._.image_regions = regions(list(labels))
    doc.spans["coref_mentions"] = [doc.char_span(*m) for m in (MAN, DOG, HE, IT, SKY)]
    for span, region in zip(doc.spans["coref_mentions"], grounded_to):
        span._.grounding = {"region": region, "box": None, "score": 1.0}
    return doc


def test_mentions_count_through_their_clusters_noun_phrases():
    # The man to a person (right), the dog to the dog (right), "he" to the
    # dog (wrong), "it" to no region (wrong); the sky names no label.
    doc = predicted([2, 1, 1, None, 0])
    scores = label_grounding_accuracy([labelled_mentions(reference(), "coref_clusters")], [predicted_labels(doc, "coref_mentions")])
    assert scores == {"acc": 0.5, "n": 4, "acc_noun": 1.0, "n_noun": 2, "acc_pronoun": 0.0, "n_pronoun": 2}


def test_majority_label_baseline():
    doc = predicted([None] * 5)
    scores = label_grounding_accuracy([labelled_mentions(reference(), "coref_clusters")], [majority_labels(doc, "coref_mentions")])
    # every mention to "person": right for the man and "he" only
    assert scores["acc_noun"] == pytest.approx(0.5) and scores["acc_pronoun"] == pytest.approx(0.5)


def test_clusters_with_gold_boxes_are_left_to_box_scoring():
    doc = reference()
    doc.char_span(*MAN)._.grounding = {"boxes": [[0, 0, 10, 10]]}
    scores = label_grounding_accuracy([labelled_mentions(doc, "coref_clusters")], [predicted_labels(predicted([2, 1, 1, None, 0]), "coref_mentions")])
    assert scores["n"] == 2 and scores["acc_noun"] == 1.0 and scores["acc_pronoun"] == 0.0


def test_nothing_to_score_without_labels_or_named_labels():
    doc = predicted([0] * 5)
    assert label_grounding_accuracy([labelled_mentions(reference(("tree", "kite")), "coref_clusters")], [predicted_labels(doc, "coref_mentions")]) is None
    unlabelled = reference()
    unlabelled._.image_regions = None
    assert label_grounding_accuracy([labelled_mentions(unlabelled, "coref_clusters")], [{}]) is None
