"""Grounding accuracy of the box head's refined boxes beside region boxes."""
import pytest
import spacy
from spacy.tokens import SpanGroup
from spacy.training import Example

from mcr_spacy import annotate_gold
from mcr_spacy.scoring.scorer import evaluate_examples

TEXT = "A man holds a dog. He likes it."


def example():
    nlp = spacy.blank("en")
    reference = nlp.make_doc(TEXT)
    annotate_gold(reference, [[(0, 5), (19, 21)], [(12, 17), (28, 30)]],
                  {(0, 5): [[10, 10, 50, 90]], (19, 21): [[10, 10, 50, 90]], (12, 17): [[60, 50, 90, 90]], (28, 30): []})
    predicted = nlp.make_doc(TEXT)
    spans = [predicted.char_span(*m) for m in [(0, 5), (12, 17), (19, 21), (28, 30)]]
    predicted.spans["coref_mentions"] = SpanGroup(predicted, spans=spans)
    man, dog, he, it = spans
    # The man: region box wrong, refined right; the dog: the other way round;
    # "He": both right; "it" has no gold box.
    man._.grounding = {"region": 0, "box": [0, 0, 20, 20], "score": 0.9, "refined_box": [11, 11, 50, 88]}
    dog._.grounding = {"region": 1, "box": [60, 50, 90, 90], "score": 0.9, "refined_box": [0, 0, 5, 5]}
    he._.grounding = {"region": 2, "box": [10, 10, 50, 90], "score": 0.9, "refined_box": [10, 10, 51, 90]}
    it._.grounding = {"region": None, "box": None, "score": 0.1, "refined_box": None}
    return Example(predicted, reference)


def test_refined_boxes_are_scored_by_the_same_rule_as_region_boxes():
    eg = example()
    results = evaluate_examples(iter([eg]), refined_box_key="refined_box")  # one pass: a generator will do
    region, refined = results["grounding"], results["grounding_refined"]
    assert region["total"] == refined["total"] == 3
    assert region["acc"] == pytest.approx(2 / 3)  # dog, He
    assert refined["acc"] == pytest.approx(2 / 3)  # man, He
    assert refined["acc_pronoun"] == pytest.approx(1.0) and refined["acc_noun"] == pytest.approx(0.5)
    assert evaluate_examples([eg], refined_box_key="box")["grounding_refined"] == region
    assert "grounding_refined" not in evaluate_examples([eg])
