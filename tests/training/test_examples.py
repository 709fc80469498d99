"""The one rule for what the pipeline is given: every gold mention (clusters
and the mentions group), regions and trace boxes, nothing else."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc

import mcr_spacy  # noqa: F401  (installs the extensions)
from mcr_spacy.annotation.gold import annotate_gold, set_mentions
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.cli.visualize import prepare_docs
from mcr_spacy.errors import AlignmentError
from mcr_spacy.training.examples import gold_mention_spans, make_predicted_doc, mentions_to_entities

TEXT = "A man holds a dog and a cat. He likes it."


def offsets(text, phrase):
    start = text.index(phrase)
    return (start, start + len(phrase))


@pytest.fixture
def nlp():
    return spacy.blank("en")


@pytest.fixture
def reference(nlp):
    """Clusters {A man, He} and {a dog, it}; "a cat" only in the mentions group,
    which lacks "it"."""
    doc = nlp.make_doc(TEXT)
    man, dog, cat, he, it = (offsets(TEXT, p) for p in ("A man", "a dog", "a cat", "He", "it"))
    annotate_gold(doc, [[man, he], [dog, it]], {man: [[0, 0, 5, 5]]})
    set_mentions(doc, [man, dog, cat, he])
    doc._.image_regions = ImageRegions([[0, 0, 5, 5]], labels=["man"], image_size=(10, 10), image_id="x")
    doc._.trace_boxes = numpy.ones((2, 5), dtype="float32")
    return doc


def texts(doc, key="mentions"):
    return [span.text for span in doc.spans[key]]


def test_given_mentions_are_clusters_and_group_in_text_order(nlp, reference):
    doc = make_predicted_doc(nlp, reference, gold_mentions=True)
    assert texts(doc) == ["A man", "a dog", "a cat", "He", "it"]
    assert doc._.image_regions is reference._.image_regions
    assert doc._.trace_boxes is reference._.trace_boxes
    assert not [key for key in doc.spans if key != "mentions"]  # no clusters leak
    assert all(span._.grounding is None for span in doc.spans["mentions"])  # no gold boxes leak
    assert "mentions" not in make_predicted_doc(nlp, reference).spans
    assert texts(prepare_docs(nlp, [reference], True)[0]) == texts(doc)  # visualize: the same rule


def test_unlabelled_reference_gets_no_group(nlp):
    plain = nlp.make_doc(TEXT)
    assert gold_mention_spans(plain) is None
    assert "mentions" not in make_predicted_doc(nlp, plain, gold_mentions=True).spans
    set_mentions(plain, [])
    assert len(make_predicted_doc(nlp, plain, gold_mentions=True).spans["mentions"]) == 0


def test_keys_choose_the_gold(nlp, reference):
    group_only = make_predicted_doc(nlp, reference, gold_mentions=True, span_cluster_prefix="other")
    assert texts(group_only) == ["A man", "a dog", "a cat", "He"]
    clusters_only = make_predicted_doc(nlp, reference, gold_mentions=True, mentions_key="given")
    assert texts(clusters_only, "given") == ["A man", "a dog", "He", "it"]


def test_mentions_as_entities(nlp, reference):
    mentions_to_entities(reference, "MENTION")
    assert [(e.text, e.label_) for e in reference.ents] == [
        ("A man", "MENTION"), ("a dog", "MENTION"), ("a cat", "MENTION"), ("He", "MENTION"), ("it", "MENTION")
    ]


def test_mention_off_the_tokenizer_is_refused(nlp):
    doc = Doc(nlp.vocab, words=["The", "dog", "s", "ran"], spaces=[True, False, True, False])
    annotate_gold(doc, [[(4, 7)]])
    with pytest.raises(AlignmentError, match=r"\[E205\].*'dog'.*\['dogs'\]"):
        make_predicted_doc(nlp, doc, gold_mentions=True)
    assert len(make_predicted_doc(nlp, doc)) == 3  # nothing to align without gold mentions
