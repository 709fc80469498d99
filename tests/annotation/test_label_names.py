"""Which detector labels a noun phrase names."""
import pytest
import spacy

from mcr_spacy.annotation.label_names import named_regions, names_label, singular

NLP = spacy.blank("en")


def phrase(text):
    return NLP(text)[:]


@pytest.mark.parametrize(
    "text,label,names",
    [
        ("a man", "person", True),
        ("the girls", "person", True),
        ("2 men", "person", True),
        ("the dog", "person", False),
        ("the bikes", "bicycle", True),
        ("the table", "dining table", True),
        ("the dog", "dog", True),
        ("the dog", "cat", False),
        ("ponies", "horse", True),
        ("a hot dog", "hot dog", True),
        ("two hot dogs", "hot dog", True),
        ("a hot dog", "dog", False),
        ("a red teddy bear", "teddy bear", True),
        ("the bear", "teddy bear", False),
        ("the bear", "bear", True),
        ("the traffic lights", "traffic light", True),
        ("the lights", "traffic light", False),
        ("it", "dog", False),
        ("he", "person", False),
        ("the dog", "", False),
    ],
)
def test_names_label(text, label, names):
    assert names_label(phrase(text), label) is names


def test_named_regions_are_every_region_with_a_named_label():
    assert named_regions(phrase("the puppies"), ["person", "dog", "cat", "dog"]) == [1, 3]
    assert named_regions(phrase("it"), ["person", "dog"]) == []


@pytest.mark.parametrize("word,expected", [("bikes", "bike"), ("ponies", "pony"), ("benches", "bench"), ("glass", "glass"), ("bus", "bus"), ("cactus", "cactus")])
def test_singular(word, expected):
    assert singular(word) == expected
