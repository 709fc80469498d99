"""Text and grounding baselines."""
import numpy
import pytest
import spacy

import mcr_spacy  # noqa: F401
from mcr_spacy.annotation.mention_attributes import head_word, normalized_text
from mcr_spacy.scoring.baselines import (
    label_match_grounding,
    largest_region_grounding,
    singleton_clusters,
    string_match_clusters,
)
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.scoring.metrics import coref_metrics, grounding_accuracy

TEXT = "A man is holding a dog. He is wearing a red shirt and it is looking at him. The man smiles."
MENTIONS = ["A man", "a dog", "He", "a red shirt", "it", "him", "The man"]


@pytest.fixture
def doc():
    nlp = spacy.blank("en")
    return nlp.make_doc(TEXT)


def _spans(doc, words=MENTIONS):
    spans, start = [], 0
    for word in words:
        i = doc.text.index(word, start)
        spans.append(doc.char_span(i, i + len(word)))
        start = i + 1
    assert all(span is not None for span in spans)
    return spans


def _off(doc, text, start=0):
    i = doc.text.index(text, start)
    return (i, i + len(text))


def test_singletons(doc):
    spans = _spans(doc)
    clusters = singleton_clusters(reversed(spans))
    assert clusters == [[(s.start_char, s.end_char)] for s in spans]


def test_normalisation_and_head(doc):
    man, dog, he, shirt = _spans(doc)[:4]
    assert normalized_text(man) == "man" and normalized_text(shirt) == "red shirt"
    assert head_word(shirt) == "shirt" and head_word(he) == "he"


def test_string_match_and_pronouns(doc):
    clusters = string_match_clusters(_spans(doc))
    man, the_man = _off(doc, "A man"), _off(doc, "The man")
    he, him, it = _off(doc, "He"), _off(doc, "him"), _off(doc, "it", 50)
    dog, shirt = _off(doc, "a dog"), _off(doc, "a red shirt")
    # "A man"/"The man" match as strings; "He" skips the dog (neuter) for the
    # man; "him" skips "it" and the shirt for "He"; "it" takes the nearest
    # neuter mention, the shirt (a text-only rule cannot know it is the dog).
    assert sorted(map(sorted, clusters)) == sorted([sorted([man, he, him, the_man]), [dog], sorted([shirt, it])])


def test_pronoun_number_agreement():
    nlp = spacy.blank("en")
    doc = nlp.make_doc("Two dogs and a ball. They play.")
    spans = [doc.char_span(0, 8), doc.char_span(13, 19), doc.char_span(21, 25)]
    clusters = string_match_clusters(spans)
    # "They" is plural: it skips "a ball" for "Two dogs".
    assert sorted(clusters) == sorted([[(0, 8), (21, 25)], [(13, 19)]])


def test_head_match_can_be_turned_off(doc):
    spans = [doc.char_span(*_off(doc, "A man")), doc.char_span(*_off(doc, "The man"))]
    assert len(string_match_clusters(spans)) == 1
    tall = spacy.blank("en").make_doc("a tall man and a man")
    pair = [tall[0:3], tall[4:6]]
    assert len(string_match_clusters(pair)) == 1
    assert len(string_match_clusters(pair, head_match=False)) == 2


def _regions():
    return ImageRegions(
        numpy.asarray([[0, 0, 99, 99], [10, 10, 209, 209], [50, 50, 79, 79]], dtype="float32"),
        labels=["man", "tree", "dogs"],
        scores=numpy.asarray([0.9, 0.8, 0.7], dtype="float32"),
        image_size=(300, 300),
    )


def test_largest_region(doc):
    spans = _spans(doc)
    boxes = largest_region_grounding(spans, _regions())
    assert set(boxes) == {(s.start_char, s.end_char) for s in spans}
    assert all(box == [10.0, 10.0, 209.0, 209.0] for box in boxes.values())
    assert set(largest_region_grounding(spans, None).values()) == {None}


def test_label_match(doc):
    boxes = label_match_grounding(_spans(doc), _regions())
    assert boxes[_off(doc, "A man")] == [0.0, 0.0, 99.0, 99.0]
    assert boxes[_off(doc, "a dog")] == [50.0, 50.0, 79.0, 79.0]  # "dogs" label, singular head
    assert boxes[_off(doc, "He")] == [0.0, 0.0, 99.0, 99.0]  # male pronoun -> person label
    assert boxes[_off(doc, "a red shirt")] == [10.0, 10.0, 209.0, 209.0]  # no label: largest
    no_labels = ImageRegions(_regions().boxes, numpy.ones((3, 4), dtype="float32"), image_size=(300, 300))
    assert set(map(tuple, label_match_grounding(_spans(doc), no_labels).values())) == {(10.0, 10.0, 209.0, 209.0)}


def test_baselines_feed_the_scorer(doc):
    spans = _spans(doc)
    gold = [[_off(doc, "A man"), _off(doc, "He"), _off(doc, "him"), _off(doc, "The man")],
            [_off(doc, "a dog"), _off(doc, "it", 50)], [_off(doc, "a red shirt")]]
    singles = coref_metrics([gold], [singleton_clusters(spans)])
    matched = coref_metrics([gold], [string_match_clusters(spans)])
    assert singles["muc"]["f"] == 0.0
    # String match: 3 of the 4 key links (man cluster) found, 1 wrong link.
    assert matched["muc"]["r"] == pytest.approx(3 / 4) and matched["muc"]["p"] == pytest.approx(3 / 4)
    gold_items = [[(_off(doc, "A man"), "A man", [[0, 0, 99, 99]]), (_off(doc, "a dog"), "a dog", [[50, 50, 79, 79]])]]
    acc = grounding_accuracy(gold_items, [label_match_grounding(spans, _regions())])
    assert acc["acc"] == 1.0
    assert grounding_accuracy(gold_items, [largest_region_grounding(spans, _regions())])["acc"] == 0.0
