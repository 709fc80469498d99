"""Every registered name resolves, and the entry points point at real objects."""
from importlib.metadata import entry_points

import pytest
import spacy
from spacy.util import registry

import mcr_spacy  # noqa: F401

GROUPS = {
    "spacy_factories": None,
    "spacy_architectures": "architectures",
    "spacy_misc": "misc",
    "spacy_scorers": "scorers",
    "spacy_readers": "readers",
    "spacy_callbacks": "callbacks",
}


def ours(group):
    return [ep for ep in entry_points(group=group) if ep.value.startswith("mcr_spacy")]


def test_entry_points_exist():
    factories = [ep.name for ep in ours("spacy_factories")]
    assert sorted(factories) == ["image_regions", "multimodal_coref"]
    architectures = [ep.name for ep in ours("spacy_architectures")]
    assert sorted(architectures) == [
        "mcr_spacy.MultimodalCoref.v1", "mcr_spacy.MultimodalCoref.v2", "mcr_spacy.MultimodalCoref.v3",
    ]
    assert [ep.name for ep in ours("spacy_callbacks")] == [
        "mcr_spacy.initialize_frozen.v1", "mcr_spacy.learn_rate_scales.v1",
    ]


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_entry_points_resolve(group):
    for ep in ours(group):
        func = ep.load()
        assert callable(func)
        if GROUPS[group] is not None:
            assert getattr(registry, GROUPS[group]).get(ep.name) is func


def test_factory_resolves_with_defaults():
    nlp = spacy.blank("en")
    nlp.add_pipe("multimodal_coref")
    config = nlp.config
    resolved = registry.resolve({"getter": config["components"]["multimodal_coref"]["mention_getter"]})
    assert callable(resolved["getter"])
    model = registry.resolve({"model": config["components"]["multimodal_coref"]["model"]})["model"]
    assert model.name == "mcr_multimodal_coref"
