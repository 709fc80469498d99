"""Gold annotation: clusters and boxes by character offsets, and the errors
that name the doc and the mention."""
import pytest
import spacy

import mcr_spacy
from mcr_spacy import AlignmentError, annotate_gold, get_clusters, make_example
from mcr_spacy.annotation.gold import DEFAULT_MENTIONS_KEY, doc_name
from mcr_spacy.defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY

TEXT = "A man holds a dog. He likes it."
MAN, DOG, HE, IT = (0, 5), (12, 17), (19, 21), (28, 30)


@pytest.fixture
def nlp():
    return spacy.blank("en")


def test_old_names_of_the_defaults_are_importable():
    assert mcr_spacy.DEFAULT_CLUSTER_PREFIX == CLUSTER_PREFIX == "coref_clusters"
    assert DEFAULT_MENTIONS_KEY == GOLD_MENTIONS_KEY == "mentions"


def test_cluster_prefix_and_its_old_name(nlp):
    doc = annotate_gold(nlp.make_doc(TEXT), [[MAN, HE], [DOG, IT]], span_cluster_prefix="gold")
    assert [[s.text for s in c] for c in get_clusters(doc, "gold")] == [["A man", "He"], ["a dog", "it"]]
    old = annotate_gold(nlp.make_doc(TEXT), [[MAN, HE]], prefix="gold")
    assert list(old.spans) == ["gold_1"] and not get_clusters(old)
    eg = make_example(nlp, TEXT, [[MAN, HE]], prefix="gold")
    assert list(eg.reference.spans) == ["gold_1", "mentions"] and len(eg.predicted.spans["mentions"]) == 2


def test_errors_name_the_doc_and_the_mention(nlp):
    with pytest.raises(AlignmentError, match=r"\[E020\].*'man h'.*\[2, 7\).*\['man', 'holds'\]"):
        annotate_gold(nlp.make_doc(TEXT), [[(2, 7)]])
    with pytest.raises(AlignmentError, match=r"\[E021\].*'A man'.*clusters 1 and 2"):
        annotate_gold(nlp.make_doc(TEXT), [[MAN, HE], [MAN]])
    with pytest.raises(AlignmentError, match=r"\[E022\].*'a dog'"):
        annotate_gold(nlp.make_doc(TEXT), [[MAN]], {DOG: [[0, 0, 1, 1]]})


def test_doc_name_prefers_the_doc_key(nlp):
    doc = nlp.make_doc(TEXT)
    assert doc_name(doc) == f"doc {TEXT!r}"
    doc.user_data["doc_key"] = "bc/cnn/00/cnn_0001_000"
    assert doc_name(doc) == "doc 'bc/cnn/00/cnn_0001_000'"
