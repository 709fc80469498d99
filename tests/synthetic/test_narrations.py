"""Generated narrations of realistic size, their docs and examples, and the
registered reader `mcr_spacy.GeneratedNarrations.v1`."""
import numpy
import pytest
import spacy
from spacy.util import registry

from mcr_spacy.errors import ConfigError
from mcr_spacy.synthetic import generate_narration, generate_narrations, narration_doc, narration_example


def test_narrations_have_realistic_size_and_are_deterministic():
    narrations = generate_narrations(40, seed=3)
    for n in narrations:
        assert 100 <= n.n_words <= 260
        assert 15 <= n.n_mentions <= 40
        assert 36 <= len(n.regions) <= 100
        assert n.regions.features.shape == (len(n.regions), 2048)
        assert sum(len(c) for c in n.clusters) == n.n_mentions
    again = generate_narrations(40, seed=3)
    assert [n.text for n in narrations] == [n.text for n in again]
    assert numpy.array_equal(narrations[7].regions.features, again[7].regions.features)
    assert narrations[0].text != generate_narrations(1, seed=4)[0].text


def test_narration_offsets_align_with_tokens():
    nlp = spacy.blank("en")
    for seed in range(10):
        narration = generate_narration(seed)
        eg = narration_example(nlp, narration)  # raises AlignmentError on a bad offset
        assert len(eg.predicted.spans["mentions"]) == narration.n_mentions
        for cluster in narration.clusters:
            for start, end in cluster:
                assert narration.boxes[(start, end)]


def test_long_narration_scales_mentions():
    narration = generate_narration(1, n_words=2000)
    assert 1990 <= narration.n_words <= 2030
    # More mentions than one chunk of the model (128): exercised by the memory table.
    assert narration.n_mentions > 200
    assert len(narration.regions) <= 100


def test_narration_needs_words():
    with pytest.raises(ConfigError, match=r"\[E604\]"):
        generate_narration(0, n_words=0)


def test_narration_doc_has_regions_and_gold_mentions():
    nlp = spacy.blank("en")
    narration = generate_narration(2, feature_width=8)
    doc = narration_doc(nlp, narration, mentions_key="gold")
    assert doc.text == narration.text
    assert doc._.image_regions is narration.regions
    offsets = sorted((span.start_char, span.end_char) for span in doc.spans["gold"])
    assert offsets == sorted(m for cluster in narration.clusters for m in cluster)


def test_registered_reader_yields_the_generated_narrations():
    nlp = spacy.blank("en")
    reader = registry.resolve({"r": {"@readers": "mcr_spacy.GeneratedNarrations.v1", "n_docs": 3, "seed": 5,
                                     "feature_width": 8}})["r"]
    examples = list(reader(nlp))
    expected = generate_narrations(3, seed=5, feature_width=8)
    assert [eg.reference.text for eg in examples] == [n.text for n in expected]
    assert all(eg.reference._.image_regions.features.shape[1] == 8 for eg in examples)
