"""Grounding a plural mention to several regions (multi_region_ratio)."""
import numpy
import pytest
import spacy
import srsly

from mcr_spacy import ConfigError, ImageRegions
from mcr_spacy.annotation.mention_attributes import referent_count
from mcr_spacy.pipeline.decoding import cluster_grounding, ground_mentions, mention_counts

from ..util import coref_nlp, make_examples, predictions

BOXES = numpy.asarray([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], dtype="float32")
# Slot 0 is "no region". Mention 0 spreads over regions 0 and 1; mention 1
# is sure of region 2; mention 2 prefers "no region".
PROBS = numpy.asarray([
    [0.05, 0.40, 0.35, 0.15, 0.05],
    [0.05, 0.02, 0.03, 0.85, 0.05],
    [0.60, 0.30, 0.05, 0.03, 0.02],
])


def regions():
    return [ImageRegions(boxes=BOXES, features=None, labels=["man"] * 4, image_size=(100, 100))]


def ground(ratio, counts):
    return ground_mentions(regions(), [3], PROBS, numpy.zeros((3, 4)), ratio, counts)


def test_spread_plural_mention_gets_several_boxes():
    found = ground(0.3, [None, None, None])
    assert found[0]["regions"] == [0, 1, 2]  # 0.15 >= 0.3 * 0.40 and above "no region"
    assert found[0]["boxes"][:2] == [BOXES[0].tolist(), BOXES[1].tolist()]
    assert found[0]["refined_boxes"][0] == found[0]["refined_box"]
    assert (found[0]["region"], found[0]["box"]) == (0, BOXES[0].tolist())
    assert found[1]["regions"] == [2]  # one probable region only
    assert found[2]["regions"] == [] and found[2]["boxes"] == []  # "no region" wins


def test_number_caps_and_singular_mentions_keep_one_box():
    assert ground(0.3, [2, None, None])[0]["regions"] == [0, 1]
    assert ground(0.3, [1, 1, 1])[0]["regions"] == [0]
    assert ground(0.9, [None, None, None])[0]["regions"] == [0]


def test_setting_off_gives_the_single_region_output():
    off = ground(None, [None, None, None])
    on = ground(0.3, [None, None, None])
    assert all("boxes" not in g for g in off)
    for before, after in zip(off, on):
        assert {k: after[k] for k in before} == before


def test_cluster_grounding_takes_the_plural_mention_lists():
    found = ground(0.3, [2, 1, 1])
    cluster = cluster_grounding([found[1], found[0]])
    assert cluster["region"] == 2  # the most confident mention's region, as before
    assert cluster["regions"] == [0, 1]
    assert cluster_grounding([found[1]])["regions"] == [2]


@pytest.mark.parametrize(
    "text,count",
    [("two men", 2), ("both", 2), ("three boys", 3), ("they", None), ("the boys", None), ("a man", 1), ("he", 1)],
)
def test_referent_count(text, count):
    doc = spacy.blank("en")(text)
    assert referent_count(doc[:]) == count
    assert mention_counts([doc], [[(0, len(doc))]]) == [count]


@pytest.mark.parametrize("value", [0.0, 1.5, -0.2])
def test_bad_ratio_is_refused(value):
    with pytest.raises(ConfigError, match=r"\[E780\]"):
        coref_nlp(multi_region_ratio=value)


@pytest.fixture(scope="module")
def trained():
    nlp = coref_nlp(write_singletons=True)
    examples = make_examples(nlp, n=8)
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(20):
        nlp.update(examples, sgd=optimizer, drop=0.0)
    return nlp, examples


def test_ratio_round_trips_and_off_leaves_predictions_unchanged(trained, tmp_path):
    nlp, examples = trained
    docs = [eg.predicted.copy() for eg in examples[:4]]
    coref = nlp.get_pipe("multimodal_coref")
    off = [predictions(nlp(d.copy())) for d in docs]
    coref.cfg["multi_region_ratio"] = 0.05
    on_docs = [nlp(d.copy()) for d in docs]
    assert all("boxes" in span._.grounding for doc in on_docs for span in doc.spans["coref_mentions"])
    assert [predictions(doc) for doc in on_docs] == off  # region, box, score, refined box unchanged
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.get_pipe("multimodal_coref").cfg["multi_region_ratio"] == 0.05
    fresh = coref_nlp(write_singletons=True)
    fresh.get_pipe("multimodal_coref").from_bytes(coref.to_bytes())
    assert fresh.get_pipe("multimodal_coref").cfg["multi_region_ratio"] == 0.05
    for doc in docs:
        expected, found = nlp(doc.copy()), loaded(doc.copy())
        assert [s._.grounding for s in found.spans["coref_mentions"]] == [s._.grounding for s in expected.spans["coref_mentions"]]
    coref.cfg["multi_region_ratio"] = None


def test_saved_bad_ratio_is_refused(trained, tmp_path):
    nlp, _ = trained
    coref = nlp.get_pipe("multimodal_coref")
    coref.to_disk(tmp_path / "coref")
    path = tmp_path / "coref" / "cfg"
    srsly.write_json(path, {**srsly.read_json(path), "multi_region_ratio": 2.0})
    with pytest.raises(ConfigError, match=r"\[E780\]"):
        coref_nlp().get_pipe("multimodal_coref").from_disk(tmp_path / "coref", exclude=["vocab", "model"])


def test_plural_of_unknown_count_takes_its_cluster_number():
    from mcr_spacy.pipeline.decoding import cluster_counts

    # "two boys" (2), "a dog" (1), "they" (None) coreferent with the boys, "them" alone.
    assert cluster_counts([2, 1, None, None], [[0, 2], [1], [3]]) == [2, 1, 2, None]
    assert cluster_counts([None, 1], [[0, 1]]) == [None, 1]
