"""Optional sense2vec mention features, from a tiny table built here."""
import shutil

import numpy
import pytest
import spacy

from mcr_spacy import ConfigError

from ..util import make_examples, predictions

sense2vec = pytest.importorskip("sense2vec", reason="sense2vec not installed")


@pytest.fixture
def table(tmp_path):
    words = ["man", "woman", "boy", "girl", "dog", "ball", "horse", "cups", "animal"]
    s2v = sense2vec.Sense2Vec(shape=(len(words), 8))
    rng = numpy.random.default_rng(0)
    for word in words:
        s2v.add(f"{word}|NOUN", rng.normal(size=(8,)).astype("float32"))
        s2v.set_freq(f"{word}|NOUN", 10)
    path = tmp_path / "s2v"
    s2v.to_disk(path)
    return path


def make_nlp(path):
    nlp = spacy.blank("en")
    nlp.add_pipe("multimodal_coref", config={"model": {
        "hidden_width": 32, "n_heads": 2, "n_layers": 1, "sense2vec_path": str(path),
    }})
    return nlp


def test_sense2vec_features_are_used_and_saved(table, tmp_path):
    nlp = make_nlp(table)
    examples = make_examples(nlp, n=4)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    coref = nlp.get_pipe("multimodal_coref")
    assert coref.cfg["model_settings"]["extra_width"] == 8
    from mcr_spacy.ml.mention_features import get_mention_features

    lookup = get_mention_features(coref.model)
    doc = examples[0].predicted  # "A man holds a dog. He likes it."
    feats = lookup(doc, numpy.asarray([[0, 2], [3, 5], [6, 7]]))
    assert numpy.allclose(feats[0], lookup.s2v["man|NOUN"])
    assert numpy.allclose(feats[1], lookup.s2v["dog|NOUN"])
    assert not feats[2].any()  # "He": no sense in the table
    expected = [predictions(nlp(eg.predicted.copy())) for eg in examples]
    nlp.to_disk(tmp_path / "model")
    shutil.rmtree(table)  # the saved pipeline carries the table itself
    loaded = spacy.load(tmp_path / "model")
    assert [predictions(loaded(eg.predicted.copy())) for eg in examples] == expected


def test_missing_table_is_a_clear_error(tmp_path):
    nlp = make_nlp(tmp_path / "nowhere")
    examples = make_examples(nlp, n=2)
    with pytest.raises(ConfigError, match=r"\[E121\]"):
        nlp.initialize(lambda: examples)
