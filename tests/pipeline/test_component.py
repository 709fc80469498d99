import inspect

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from mcr_spacy import AlignmentError, ConfigError, ImageRegions, RegionsError, annotate_gold, make_example
from mcr_spacy.annotation.boxes import box_iou
from mcr_spacy.pipeline.component import MultimodalCoref, find_coref_component

from ..util import SMALL_MODEL, cluster_sets, coref_nlp, make_examples, predictions


def make_nlp(**config):
    return coref_nlp(**{"write_singletons": True, **config})


def train(nlp, examples, steps=60, seed=0):
    spacy.util.fix_random_seed(seed)
    optimizer = nlp.initialize(lambda: examples)
    losses = {}
    for _ in range(steps):
        losses = nlp.update(examples, sgd=optimizer, drop=0.0)
    return losses


@pytest.fixture(scope="module")
def trained():
    nlp = make_nlp()
    examples = make_examples(nlp, n=12)
    train(nlp, examples, steps=80)
    return nlp, examples


def test_add_pipe():
    nlp = spacy.blank("en")
    coref = nlp.add_pipe("multimodal_coref")
    assert nlp.pipe_names == ["multimodal_coref"]
    assert coref.cfg["span_cluster_prefix"] == "coref_clusters"
    assert coref.cfg["threshold"] == 0.5


def test_class_defaults_are_the_factory_defaults():
    """Constructing the class directly gives the component `add_pipe` gives:
    every setting with a default in `__init__` has the factory's default, and
    the arguments without one are those the factory builds from the registry."""
    factory = Language.get_factory_meta("multimodal_coref").default_config
    params = inspect.signature(MultimodalCoref.__init__).parameters
    defaults = {key: p.default for key, p in params.items() if p.default is not p.empty and key != "name"}
    from_registry = {"model", "mention_getter", "scorer"}
    assert set(defaults) == set(factory) - from_registry
    for key, value in defaults.items():
        assert (value, type(value)) == (factory[key], type(factory[key])), key
    assert {key for key, p in params.items() if p.default is p.empty} == {"self", "vocab"} | from_registry
    nlp = spacy.blank("en")
    piped = nlp.add_pipe("multimodal_coref")
    direct = MultimodalCoref(nlp.vocab, piped.model, mention_getter=piped.mention_getter, scorer=None)
    assert direct.cfg == piped.cfg


@pytest.mark.parametrize(
    "setting,code",
    [
        ({"linkage": "single"}, "E100"),
        ({"temperature": 0.0}, "E101"),
        ({"itc_temperature": -1.0}, "E101"),
        ({"grounding_agreement": 1.5}, "E102"),
        ({"label_prop_warmup": -1}, "E103"),
        ({"ema_decay": 1.0}, "E104"),
    ],
)
def test_bad_settings_are_refused(setting, code):
    with pytest.raises(ConfigError, match=rf"\[{code}\]"):
        make_nlp(**setting)


def test_missing_component_and_scorer_are_refused(trained):
    nlp, examples = trained
    with pytest.raises(ConfigError, match=r"\[E109\]"):
        find_coref_component(spacy.blank("en"))
    coref = nlp.get_pipe("multimodal_coref")
    unscored = MultimodalCoref(nlp.vocab, coref.model, mention_getter=coref.mention_getter, scorer=None)
    with pytest.raises(ConfigError, match=r"\[E108\]"):
        unscored.score(examples)


def test_not_initialized():
    nlp = make_nlp()
    doc = make_examples(nlp, n=1)[0].predicted
    with pytest.raises(ValueError, match=r"\[E105\]"):
        nlp(doc)


def test_initialize_stores_widths(trained):
    nlp, _ = trained
    settings = nlp.get_pipe("multimodal_coref").cfg["model_settings"]
    assert settings["region_feature_width"] == 16
    assert settings["token_width"] == 96
    assert "dog" in settings["region_labels"]


def test_overfitting_clusters_and_groundings(trained):
    """After training, every training doc's clusters and groundings equal the gold."""
    nlp, examples = trained
    for eg in examples:
        doc = nlp(eg.predicted.copy())
        assert cluster_sets(doc) == cluster_sets(eg.reference)
        regions = eg.predicted._.image_regions
        gold = {(s.start_char, s.end_char): s._.grounding for c in eg.reference.spans.values() for s in c}
        for span in doc.spans["coref_mentions"]:
            gold_boxes = gold[(span.start_char, span.end_char)]["boxes"]
            if not gold_boxes:
                assert span._.grounding["region"] is None
            else:
                expected = int(box_iou(numpy.asarray(gold_boxes), regions.boxes).max(axis=0).argmax())
                assert span._.grounding["region"] == expected
                assert span._.grounding["box"] == regions.boxes[expected].tolist()
                refined = numpy.asarray(span._.grounding["refined_box"])
                assert box_iou(refined, numpy.asarray(gold_boxes)).max() > 0.5


def test_loss_falls():
    nlp = make_nlp()
    examples = make_examples(nlp, n=4)
    optimizer = nlp.initialize(lambda: examples)
    first = nlp.update(examples, sgd=optimizer)["multimodal_coref"]
    for _ in range(20):
        last = nlp.update(examples, sgd=optimizer)["multimodal_coref"]
    assert last < first / 2


def test_cluster_groundings_and_attrs(trained):
    nlp, examples = trained
    doc = nlp(examples[0].predicted.copy())
    groups = [g for k, g in doc.spans.items() if k.startswith("coref_clusters_")]
    assert groups
    for group in groups:
        grounding = group.attrs["grounding"]
        assert set(grounding) == {"region", "box", "score", "refined_box"}
        assert grounding in [span._.grounding for span in group]
    assert [list(c) for c in doc._.coref_clusters] == [list(g) for g in groups]


def test_singletons_not_written_by_default(trained):
    nlp, examples = trained
    coref = nlp.get_pipe("multimodal_coref")
    coref.cfg["write_singletons"] = False
    try:
        coref.cfg["threshold"] = 1.1  # nothing corefers: every mention a singleton
        doc = nlp(examples[0].predicted.copy())
        assert not [k for k in doc.spans if k.startswith("coref_clusters_")]
        assert len(doc.spans["coref_mentions"]) == 4
    finally:
        coref.cfg["write_singletons"] = True
        coref.cfg["threshold"] = 0.5


def test_empty_and_one_token_docs(trained):
    nlp, _ = trained
    empty = nlp("")
    assert len(empty.spans["coref_mentions"]) == 0
    one = nlp.make_doc("dog")
    one.spans["mentions"] = [one[0:1]]
    one = nlp(one)
    assert [s.text for s in one.spans["coref_mentions"]] == ["dog"]
    assert one._.coref_clusters == [[one[0:1]]]
    assert one[0:1]._.grounding["region"] is None  # no regions: the no-region slot


def test_docs_without_regions_and_without_mentions(trained):
    nlp, examples = trained
    text_only = examples[0].predicted.copy()
    text_only._.image_regions = None
    doc = nlp(text_only)
    assert all(s._.grounding["region"] is None for s in doc.spans["coref_mentions"])
    assert len(doc.spans["coref_mentions"]) == 4
    no_mentions = nlp.make_doc("A picture of nothing in particular.")
    no_mentions._.image_regions = examples[0].predicted._.image_regions
    doc = nlp(no_mentions)
    assert len(doc.spans["coref_mentions"]) == 0
    assert not doc._.coref_clusters


def test_one_region_and_label_only_regions(trained):
    nlp, examples = trained
    doc = examples[0].predicted.copy()
    full = doc._.image_regions
    doc._.image_regions = ImageRegions(
        full.boxes[:1], features=full.features[:1], labels=full.labels[:1], image_size=full.image_size
    )
    doc = nlp(doc)
    assert {s._.grounding["region"] for s in doc.spans["coref_mentions"]} <= {0, None}
    labels_only = examples[1].predicted.copy()
    labels_only._.image_regions = ImageRegions(full.boxes, labels=full.labels, image_size=full.image_size)
    doc = nlp(labels_only)
    assert len(doc.spans["coref_mentions"]) == 4


def test_pipe_equals_call(trained):
    nlp, examples = trained
    docs = [eg.predicted.copy() for eg in examples]
    one_by_one = [predictions(nlp(doc.copy())) for doc in docs]
    piped = [predictions(doc) for doc in nlp.pipe([d.copy() for d in docs], batch_size=5)]
    # Mentions, clusters, regions and boxes are identical; scores may differ in
    # the last float32 digits, as padding changes the shape of the batch.
    assert [[p[:4] for p in doc] for doc in piped] == [[p[:4] for p in doc] for doc in one_by_one]
    assert [p[4] for doc in piped for p in doc] == pytest.approx(
        [p[4] for doc in one_by_one for p in doc], abs=1e-5
    )
    assert [cluster_sets(d) for d in nlp.pipe([d.copy() for d in docs], batch_size=5)] == [
        cluster_sets(nlp(d.copy())) for d in docs
    ]


def test_long_doc_is_chunked_without_loss(trained):
    nlp, examples = trained
    coref = nlp.get_pipe("multimodal_coref")
    doc = examples[0].predicted.copy()
    before = predictions(nlp(doc.copy()))
    coref.model.attrs["max_mentions_per_chunk"] = 3
    try:
        chunked = nlp(doc.copy())
    finally:
        coref.model.attrs["max_mentions_per_chunk"] = 128
    assert len(chunked.spans["coref_mentions"]) == 4
    assert [p[:2] for p in predictions(chunked)] == [p[:2] for p in before]


def test_serialization_roundtrip(trained, tmp_path):
    nlp, examples = trained
    docs = [eg.predicted.copy() for eg in examples[:4]]
    expected = [predictions(nlp(d.copy())) for d in docs]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert [predictions(loaded(d.copy())) for d in docs] == expected
    coref_bytes = nlp.get_pipe("multimodal_coref").to_bytes()
    fresh = make_nlp()
    fresh.get_pipe("multimodal_coref").from_bytes(coref_bytes)
    assert [predictions(fresh(d.copy())) for d in docs] == expected


def test_serialization_before_initialize(tmp_path):
    nlp = make_nlp()
    nlp.to_disk(tmp_path / "blank")
    loaded = spacy.load(tmp_path / "blank")
    coref = loaded.get_pipe("multimodal_coref")
    assert coref.cfg["model_settings"] is None
    fresh = make_nlp()
    fresh.get_pipe("multimodal_coref").from_bytes(coref.to_bytes())
    examples = make_examples(loaded, n=2)
    loaded.initialize(lambda: examples)
    assert loaded(examples[0].predicted.copy()).spans["coref_mentions"]


def test_outputs_survive_docbin(trained):
    nlp, examples = trained
    doc = nlp(examples[0].predicted.copy())
    restored = list(DocBin(store_user_data=True, docs=[doc]).get_docs(nlp.vocab))[0]
    assert cluster_sets(restored) == cluster_sets(doc)
    assert restored._.image_regions == doc._.image_regions
    for a, b in zip(doc.spans["coref_mentions"], restored.spans["coref_mentions"]):
        assert a._.grounding["region"] == b._.grounding["region"]
        assert list(a._.grounding["box"] or []) == list(b._.grounding["box"] or [])
    restored2 = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert cluster_sets(restored2) == cluster_sets(doc)
    group = [g for k, g in restored2.spans.items() if k.startswith("coref_clusters_")][0]
    assert group.attrs["grounding"]["score"] > 0


def test_wrong_feature_width_is_refused(trained):
    nlp, examples = trained
    doc = examples[0].predicted.copy()
    full = doc._.image_regions
    doc._.image_regions = ImageRegions(
        full.boxes, features=numpy.zeros((3, 7)), image_size=full.image_size, image_id="bad-width"
    )
    # The trained component names both extractors and widths (E811).
    with pytest.raises(RegionsError, match=r"\[E811\].*bad-width.*width 7.*width 16"):
        nlp(doc)


def test_bad_regions_are_refused():
    with pytest.raises(RegionsError, match=r"'x1'.*NaN"):
        ImageRegions([[0, 0, 1, 1]], features=[[numpy.nan, 1.0]], image_size=(10, 10), image_id="x1")
    with pytest.raises(RegionsError, match=r"box 0 .*inverted"):
        ImageRegions([[5, 0, 1, 1]], labels=["a"], image_size=(10, 10))
    with pytest.raises(RegionsError, match=r"outside the image.*clip=True"):
        ImageRegions([[0, 0, 50, 5]], labels=["a"], image_size=(10, 10))


def test_misaligned_gold_offsets_are_refused():
    nlp = spacy.blank("en")
    with pytest.raises(AlignmentError, match=r"'man hol'.*\[2, 9\).*token boundaries"):
        annotate_gold(nlp.make_doc("A man holds a dog."), [[(2, 9)]])


def test_gold_on_a_different_text_is_refused(trained):
    nlp, examples = trained
    eg = examples[0]
    other = Example(nlp.make_doc("A different text entirely, about a dog."), eg.reference)
    other.predicted.spans["mentions"] = [other.predicted[0:2]]
    with pytest.raises(AlignmentError, match=r"\[E106\]"):
        nlp.get_pipe("multimodal_coref").update([other])


def test_same_seed_same_output():
    outputs = []
    for _ in range(2):
        nlp = make_nlp()
        examples = make_examples(nlp, n=4)
        train(nlp, examples, steps=5, seed=1)
        outputs.append([predictions(nlp(eg.predicted.copy())) for eg in examples])
    assert outputs[0] == outputs[1]


def test_text_only_training():
    """Docs without any regions train and predict (the no-region slot only)."""
    nlp = make_nlp()
    examples = make_examples(nlp, n=4)
    for eg in examples:
        eg.predicted._.image_regions = None
    train(nlp, examples, steps=40)
    doc = nlp(examples[0].predicted.copy())
    assert cluster_sets(doc) == cluster_sets(examples[0].reference)


def test_docs_without_regions_cluster_on_cosine(trained):
    """Grounding agreement mixes into the scores only where there are regions."""
    nlp, examples = trained
    coref = nlp.get_pipe("multimodal_coref")
    assert coref.cfg["grounding_agreement"] > 0
    doc = examples[0].predicted.copy()
    doc._.image_regions = None
    pred = coref.predict([doc])[0]
    numpy.testing.assert_allclose(numpy.diag(pred.similarities), 1.0, rtol=1e-5)
    with_image = coref.predict([examples[0].predicted.copy()])[0]
    assert not numpy.allclose(with_image.similarities, pred.similarities)


def test_mixed_batch_equals_one_by_one(trained):
    """Docs with features, with labels only, without regions and without
    mentions share a batch (packed features) and get their own results."""
    nlp, examples = trained
    full = examples[1].predicted._.image_regions
    labels_only = examples[1].predicted.copy()
    labels_only._.image_regions = ImageRegions(full.boxes, labels=full.labels, image_size=full.image_size)
    no_regions = examples[2].predicted.copy()
    no_regions._.image_regions = None
    no_mentions = nlp.make_doc("Nothing to see here.")
    no_mentions._.image_regions = full
    docs = [examples[0].predicted.copy(), labels_only, no_regions, no_mentions, examples[3].predicted.copy()]
    one_by_one = [predictions(nlp(doc.copy())) for doc in docs]
    piped = [predictions(doc) for doc in nlp.pipe([d.copy() for d in docs], batch_size=len(docs))]
    assert [[p[:4] for p in doc] for doc in piped] == [[p[:4] for p in doc] for doc in one_by_one]
    assert [p[4] for doc in piped for p in doc] == pytest.approx(
        [p[4] for doc in one_by_one for p in doc], abs=1e-5
    )


def test_cheap_region_encoder(tmp_path):
    """region_projection_rank factorises the feature projection and
    region_self_attention=False drops the region layer; the model still fits
    the training docs and survives a round trip."""
    nlp = make_nlp(model={**SMALL_MODEL, "region_projection_rank": 8, "region_self_attention": False})
    examples = make_examples(nlp, n=12)
    train(nlp, examples, steps=80)
    module = nlp.get_pipe("multimodal_coref").model.get_ref("torch").shims[0]._model
    assert tuple(module.regions.feature_proj[0].weight.shape) == (8, 16)
    assert module.regions.attention is None
    for eg in examples:
        assert cluster_sets(nlp(eg.predicted.copy())) == cluster_sets(eg.reference)
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    docs = [eg.predicted.copy() for eg in examples[:3]]
    assert [predictions(loaded(d.copy())) for d in docs] == [predictions(nlp(d.copy())) for d in docs]


def test_negative_projection_rank_is_refused():
    with pytest.raises(ConfigError, match=r"\[E111\]"):
        make_nlp(model={**SMALL_MODEL, "region_projection_rank": -1})


def test_set_span_values_is_span_underscore():
    """The batch writer of span attributes stores what `span._` reads, and an
    extension with a setter still goes through its setter."""
    from spacy.tokens import Span

    from mcr_spacy.annotation.extensions import set_span_values

    doc = spacy.blank("en")("a man holds a dog")
    spans = [doc[0:2], doc[3:5]]
    set_span_values(spans, "grounding", [{"region": 1}, {"region": None}])
    assert doc[0:2]._.grounding == {"region": 1}
    assert doc[3:5]._.grounding == {"region": None}
    assert doc[1:2]._.grounding is None
    seen = []
    Span.set_extension("mcr_test_with_setter", getter=lambda span: None, setter=lambda span, v: seen.append(v), force=True)
    try:
        set_span_values(spans, "mcr_test_with_setter", ["x", "y"])
    finally:
        Span.remove_extension("mcr_test_with_setter")
    assert seen == ["x", "y"]


def test_get_doc_values_is_doc_underscore():
    """The batch reader of doc attributes returns what `doc._` reads: the
    stored value, the default, a getter's value and a copy of a mutable default."""
    from spacy.tokens import Doc

    from mcr_spacy.annotation.extensions import get_doc_values
    from mcr_spacy.annotation.regions import ImageRegions

    nlp = spacy.blank("en")
    with_regions, without = nlp("a man"), nlp("a dog")
    with_regions._.image_regions = ImageRegions(boxes=[[0, 0, 2, 2]], labels=["man"], image_size=(4, 4))
    assert get_doc_values([with_regions, without], "image_regions") == [with_regions._.image_regions, None]
    Doc.set_extension("mcr_test_getter", getter=lambda doc: len(doc), force=True)
    Doc.set_extension("mcr_test_list", default=[], force=True)
    try:
        assert get_doc_values([with_regions, nlp("a b c")], "mcr_test_getter") == [2, 3]
        values = get_doc_values([with_regions, without], "mcr_test_list")
        values[0].append("x")
        assert without._.mcr_test_list == [] and with_regions._.mcr_test_list == ["x"]
    finally:
        Doc.remove_extension("mcr_test_getter")
        Doc.remove_extension("mcr_test_list")


def test_module_mode_follows_predict_and_update(trained):
    """Prediction leaves the torch module in eval mode (no dropout) without
    switching back after each call; an update puts it in train mode again."""
    nlp, examples = trained
    coref = nlp.get_pipe("multimodal_coref")
    module = coref.model.get_ref("torch").shims[0]._model
    docs = [eg.predicted.copy() for eg in examples[:3]]
    first = [predictions(doc) for doc in nlp.pipe([d.copy() for d in docs])]
    assert not module.training
    second = [predictions(doc) for doc in nlp.pipe([d.copy() for d in docs])]
    assert first == second
    outputs, backprop = coref.model.begin_update(coref._model_input(docs)[0])
    assert module.training
