"""Corpus readers: regions and gold mentions carried to the predicted docs,
labelled and unlabelled examples interleaved at a ratio, by seed."""
import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, SpanGroup
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import load_model_from_config, registry
from thinc.api import Config

import mcr_spacy  # noqa: F401  (installs the extensions)
from mcr_spacy.training.corpus import MultimodalCorpus, SemiSupervisedCorpus, is_labelled
from mcr_spacy.errors import AlignmentError, ConfigError, DataFormatError
from mcr_spacy.annotation.gold import annotate_gold, set_mentions
from mcr_spacy.annotation.regions import ImageRegions
from mcr_spacy.annotation.clusters import clear_clusters, get_clusters
from mcr_spacy.training.io import write_docbin


def regions_for(i):
    rng = numpy.random.default_rng(i)
    return ImageRegions(
        [[10, 10, 100, 200], [120, 40, 300, 220]],
        features=rng.normal(size=(2, 8)),
        labels=["man", "dog"],
        image_size=(320, 240),
        image_id=f"img{i}",
    )


def labelled_doc(nlp, i, key=None):
    text = f"A man number {i} holds a dog. He likes it."
    doc = nlp.make_doc(text)
    man, dog = (0, len(f"A man number {i}")), (text.index("a dog"), text.index("a dog") + 5)
    he, it = (text.index("He"), text.index("He") + 2), (text.index("it."), text.index("it."))
    it = (it[0], it[0] + 2)
    annotate_gold(doc, [[man, he], [dog, it]], {man: [[10, 10, 100, 200]], dog: [[120, 40, 300, 220]]})
    set_mentions(doc, [man, dog, he, it])
    doc._.image_regions = regions_for(i)
    doc._.trace_boxes = numpy.full((3, 5), i / 100, dtype="float32")
    doc.user_data["doc_key"] = key or f"L{i}"
    return doc


def unlabelled_doc(nlp, i, key=None):
    doc = nlp.make_doc(f"In this picture {i} we can see a cat on a sofa.")
    doc._.image_regions = regions_for(100 + i)
    doc.user_data["doc_key"] = key or f"U{i}"
    return doc


def write(path, docs):
    write_docbin(docs, path)
    return path


@pytest.fixture
def nlp():
    return spacy.blank("en")


@pytest.fixture
def labelled_path(tmp_path, nlp):
    return write(tmp_path / "labelled.spacy", [labelled_doc(nlp, i) for i in range(6)])


@pytest.fixture
def unlabelled_path(tmp_path, nlp):
    return write(tmp_path / "unlabelled.spacy", [unlabelled_doc(nlp, i) for i in range(15)])


def keys(examples):
    return [eg.reference.user_data["doc_key"] for eg in examples]


def test_regions_trace_boxes_and_gold_mentions_reach_the_predicted_doc(nlp, labelled_path):
    examples = list(MultimodalCorpus(labelled_path, gold_mentions=True)(nlp))
    assert keys(examples) == [f"L{i}" for i in range(6)]
    for i, eg in enumerate(examples):
        assert eg.predicted is not eg.reference and eg.predicted.text == eg.reference.text
        assert eg.predicted._.image_regions == regions_for(i)
        assert eg.predicted._.image_regions.features.shape == (2, 8)
        assert numpy.array_equal(eg.predicted._.trace_boxes, eg.reference._.trace_boxes)
        got = [(s.start_char, s.end_char) for s in eg.predicted.spans["mentions"]]
        want = [(s.start_char, s.end_char) for s in eg.reference.spans["mentions"]]
        assert got == want and len(got) == 4
        assert all(s._.grounding is None for s in eg.predicted.spans["mentions"])  # no gold boxes leak
        assert not is_labelled(eg.predicted) and is_labelled(eg.reference)
        assert [len(c) for c in get_clusters(eg.reference)] == [2, 2]
    plain = list(MultimodalCorpus(labelled_path)(nlp))
    assert all("mentions" not in eg.predicted.spans for eg in plain)
    assert all(eg.predicted._.image_regions is not None for eg in plain)
    (entities,) = MultimodalCorpus(labelled_path, limit=1, mentions_as_entities="MENTION")(nlp)
    assert [(e.text, e.label_) for e in entities.reference.ents] == [
        ("A man number 0", "MENTION"), ("a dog", "MENTION"), ("He", "MENTION"), ("it", "MENTION")
    ]
    assert not entities.predicted.ents and "mentions" not in entities.predicted.spans


def test_gold_mentions_fall_back_to_cluster_mentions_and_custom_key(tmp_path, nlp):
    doc = labelled_doc(nlp, 0)
    del doc.spans["mentions"]
    path = write(tmp_path / "c.spacy", [doc, unlabelled_doc(nlp, 0)])
    first, second = MultimodalCorpus(path, gold_mentions=True, mentions_key="given")(nlp)
    assert [s.text for s in first.predicted.spans["given"]] == ["A man number 0", "a dog", "He", "it"]
    assert "given" not in second.predicted.spans  # unlabelled: the mention getter decides


def test_tokenizer_mismatch_names_the_doc(tmp_path, nlp):
    doc = Doc(nlp.vocab, words=["The", "dog", "s", "ran"], spaces=[True, False, True, False])
    annotate_gold(doc, [[(4, 7)]])
    doc.user_data["doc_key"] = "mismatch-7"
    path = write(tmp_path / "m.spacy", [doc])
    with pytest.raises(AlignmentError, match=r"\[E205\]") as err:
        list(MultimodalCorpus(path, gold_mentions=True)(nlp))
    assert "mismatch-7" in str(err.value) and "'dog'" in str(err.value) and "dogs" in str(err.value)
    assert len(list(MultimodalCorpus(path)(nlp))) == 1  # without gold mentions nothing to align


def test_limit_max_length_and_seeded_shuffle(nlp, labelled_path, unlabelled_path):
    assert keys(MultimodalCorpus(labelled_path, limit=2)(nlp)) == ["L0", "L1"]
    assert len(list(MultimodalCorpus(unlabelled_path, max_length=13)(nlp))) == 0
    assert len(list(MultimodalCorpus(unlabelled_path, max_length=14)(nlp))) == 15
    a, b = MultimodalCorpus(unlabelled_path, shuffle=True, seed=3), MultimodalCorpus(unlabelled_path, shuffle=True, seed=3)
    a1, a2 = keys(a(nlp)), keys(a(nlp))
    assert (a1, a2) == (keys(b(nlp)), keys(b(nlp)))
    assert sorted(a1) == sorted(a2) == sorted(f"U{i}" for i in range(15))
    assert a1 != a2 and a1 != keys(MultimodalCorpus(unlabelled_path)(nlp))
    assert a1 != keys(MultimodalCorpus(unlabelled_path, shuffle=True, seed=4)(nlp))


def test_missing_or_empty_paths_are_refused(tmp_path, labelled_path):
    with pytest.raises(ConfigError, match=r"\[E203\].*nowhere.spacy"):
        MultimodalCorpus(tmp_path / "nowhere.spacy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"\[E202\]"):
        registry.resolve({"c": {"@readers": "mcr_spacy.MultimodalCorpus.v1", "path": str(tmp_path / "empty")}})
    with pytest.raises(ConfigError, match=r"\[E203\] Corpus unlabelled_path .*missing"):
        SemiSupervisedCorpus(labelled_path, tmp_path / "missing")
    with pytest.raises(ConfigError, match=r"\[E201\]"):
        MultimodalCorpus(None)
    with pytest.raises(ConfigError, match=r"\[E201\] Corpus labelled_path"):
        SemiSupervisedCorpus(unlabelled_path=labelled_path)
    damaged = tmp_path / "damaged.spacy"
    damaged.write_bytes(labelled_path.read_bytes()[:100])
    with pytest.raises(DataFormatError, match=r"\[E204\].*damaged.spacy"):
        list(MultimodalCorpus(damaged)(spacy.blank("en")))
    for ratio in ({"unlabelled_ratio": -1}, {"unlabeled_ratio": float("inf")}):
        with pytest.raises(ConfigError, match=r"\[E206\]"):
            SemiSupervisedCorpus(labelled_path, labelled_path, **ratio)


def test_folder_of_corpus_files(tmp_path, nlp):
    folder = tmp_path / "corpus"
    folder.mkdir()
    write(folder / "b.spacy", [labelled_doc(nlp, 1)])
    write(folder / "a.spacy", [labelled_doc(nlp, 0)])
    assert keys(MultimodalCorpus(folder)(nlp)) == ["L0", "L1"]


def test_semi_supervised_ratio_interleaving_and_seed(nlp, labelled_path, unlabelled_path):
    corpus = SemiSupervisedCorpus(labelled_path, unlabelled_path, unlabelled_ratio=2.0, seed=1)
    passes = [keys(corpus(nlp)) for _ in range(3)]
    for seq in passes:
        assert len(seq) == 18
        assert sorted(k for k in seq if k[0] == "L") == [f"L{i}" for i in range(6)]  # one digit
        assert [k[0] for k in seq] == ["L", "U", "U"] * 6
    drawn = [k for seq in passes for k in seq if k[0] == "U"]
    assert set(drawn[:15]) == {f"U{i}" for i in range(15)}  # all used before any repeats
    again = SemiSupervisedCorpus(labelled_path, unlabelled_path, unlabelled_ratio=2.0, seed=1)
    assert [keys(again(nlp)) for _ in range(3)] == passes
    other = SemiSupervisedCorpus(labelled_path, unlabelled_path, unlabeled_ratio=2.0, seed=2)
    assert keys(other(nlp)) != passes[0]
    half = keys(SemiSupervisedCorpus(labelled_path, unlabelled_path, unlabelled_ratio=0.5)(nlp))
    assert "".join(k[0] for k in half) == "LULLULLUL"  # 3 unlabelled spread over 6 labelled
    none = keys(SemiSupervisedCorpus(labelled_path, unlabelled_path, unlabeled_ratio=0)(nlp))
    assert set(none) == {f"L{i}" for i in range(6)} and len(none) == 6


def test_old_setting_names_still_work(tmp_path, nlp, labelled_path, unlabelled_path):
    """span_cluster_prefix and the labelled_* spellings, and their old names
    (prefix, cluster_prefix, labeled_*, unlabeled_*), configure the same reader."""
    doc = labelled_doc(nlp, 0)
    del doc.spans["mentions"]
    for i, cluster in enumerate(get_clusters(doc), start=1):
        doc.spans[f"gold_{i}"] = SpanGroup(doc, name=f"gold_{i}", spans=cluster)
    clear_clusters(doc)
    path = write(tmp_path / "gold.spacy", [doc])

    def given(**settings):
        reader = {"@readers": "mcr_spacy.MultimodalCorpus.v1", "path": str(path), "gold_mentions": True, **settings}
        corpus = registry.resolve({"c": reader})["c"]
        return [[s.text for s in eg.predicted.spans["mentions"]] if "mentions" in eg.predicted.spans else None
                for eg in corpus(nlp)]

    want = [["A man number 0", "a dog", "He", "it"]]
    assert given(span_cluster_prefix="gold") == given(cluster_prefix="gold") == want
    assert given() == [None]  # default prefix: no gold mentions found
    assert [len(eg.predicted.spans["mentions"]) for eg in MultimodalCorpus(path, gold_mentions=True, prefix="gold")(nlp)] == [4]

    def semi(**settings):
        reader = {"@readers": "mcr_spacy.SemiSupervisedCorpus.v1", "seed": 3, **settings}
        return [keys(registry.resolve({"c": reader})["c"](nlp)) for _ in range(2)]

    new = semi(labelled_path=str(labelled_path), unlabelled_path=str(unlabelled_path), unlabelled_ratio=0.5,
               labelled_limit=4, unlabelled_limit=5)
    old = semi(labeled_path=str(labelled_path), unlabeled_path=str(unlabelled_path), unlabeled_ratio=0.5,
               labeled_limit=4, unlabeled_limit=5)
    assert new == old
    assert sorted(k for k in new[0] if k[0] == "L") == ["L0", "L1", "L2", "L3"] and len(new[0]) == 6
    assert {k for seq in new for k in seq if k[0] == "U"} <= {f"U{i}" for i in range(5)}


def test_semi_supervised_labels_follow_the_content(tmp_path, nlp):
    detected = unlabelled_doc(nlp, 3, "U-detected")
    set_mentions(detected, [(detected.text.index("a cat"), detected.text.index("a cat") + 5)])
    lab = write(tmp_path / "lab.spacy", [labelled_doc(nlp, 0), labelled_doc(nlp, 1), unlabelled_doc(nlp, 9, "L-empty")])
    unl = write(tmp_path / "unl.spacy", [labelled_doc(nlp, 5, "U-gold"), detected])
    corpus = SemiSupervisedCorpus(lab, unl, unlabelled_ratio=1.5, gold_mentions=True, seed=0)
    examples = list(corpus(nlp))
    assert len(examples) == 5
    for eg in examples:
        key = eg.reference.user_data["doc_key"]
        labelled = key in ("L0", "L1")
        assert is_labelled(eg.reference) == labelled
        # Gold mentions of labelled docs and detected mentions of unlabelled
        # ones reach the predicted doc; a stripped doc's gold mentions do not.
        assert ("mentions" in eg.predicted.spans) == (labelled or key == "U-detected")
        assert eg.predicted._.image_regions is not None
    assert sorted(keys(examples)) == ["L-empty", "L0", "L1", "U-detected", "U-gold"]
    detected_eg = [eg for eg in examples if eg.reference.user_data["doc_key"] == "U-detected"][0]
    assert [s.text for s in detected_eg.predicted.spans["mentions"]] == ["a cat"]
    only_unlabelled = write(tmp_path / "none.spacy", [unlabelled_doc(nlp, 0)])
    with pytest.raises(ConfigError, match=r"\[E207\]"):
        list(SemiSupervisedCorpus(only_unlabelled, unl)(nlp))


SEEN = []


class Recorder:
    """Stands in for a trainable component: records what each update sees."""

    def __init__(self, name):
        self.name = name

    def __call__(self, doc):
        return doc

    def initialize(self, get_examples, *, nlp=None):
        SEEN.append(("initialize", keys(get_examples())))

    def update(self, examples, *, drop=0.0, sgd=None, losses=None):
        for eg in examples:
            regions = eg.predicted._.image_regions
            assert regions is not None and regions == eg.reference._.image_regions
            assert ("mentions" in eg.predicted.spans) == is_labelled(eg.reference)
        SEEN.append(("update", keys(examples)))
        losses[self.name] = 0.0
        return losses


@Language.factory("mcr_test_corpus_recorder")
def make_recorder(nlp, name):
    return Recorder(name)


CONFIG = """
[paths]
labelled = null
unlabelled = null
[nlp]
lang = "en"
pipeline = ["recorder"]
[components]
[components.recorder]
factory = "mcr_test_corpus_recorder"
[corpora]
[corpora.train]
@readers = "mcr_spacy.SemiSupervisedCorpus.v1"
labeled_path = ${paths.labelled}
unlabeled_path = ${paths.unlabelled}
unlabeled_ratio = 2.0
gold_mentions = true
seed = ${training.seed}
[corpora.dev]
@readers = "mcr_spacy.MultimodalCorpus.v1"
path = ${paths.labelled}
gold_mentions = true
limit = 2
[training]
seed = 0
max_epochs = -1
max_steps = 12
eval_frequency = 6
[training.batcher]
@batchers = "spacy.batch_by_sequence.v1"
size = 3
[training.score_weights]
"""


def run_training(labelled_path, unlabelled_path, seed):
    config = Config().from_str(CONFIG, overrides={
        "paths.labelled": str(labelled_path), "paths.unlabelled": str(unlabelled_path),
        "training.seed": seed,
    })
    config = load_model_from_config(config, auto_fill=True).config
    SEEN.clear()
    nlp = init_nlp(config)
    train(nlp, None, stdout=open("/dev/null", "w"))
    return list(SEEN)


def test_readers_in_the_spacy_training_loop(labelled_path, unlabelled_path):
    seen = run_training(labelled_path, unlabelled_path, seed=0)
    (kind, init_keys), updates = seen[0], seen[1:]
    assert kind == "initialize" and len(init_keys) == 18
    assert len(updates) >= 12  # max_steps = 12
    for kind, batch in updates:
        # ratio 2: every batch of three holds one labelled and two unlabelled examples
        assert kind == "update" and sorted(k[0] for k in batch) == ["L", "U", "U"]
    assert run_training(labelled_path, unlabelled_path, seed=0) == seen
    assert run_training(labelled_path, unlabelled_path, seed=1) != seen


def test_converted_vispro_reads_with_gold_mentions(tmp_path, nlp):
    from pathlib import Path

    from mcr_spacy.convert.jsonlines import convert_jsonlines

    vispro = Path(__file__).resolve().parents[3] / "shared" / "data" / "vispro" / "val.vispro.1.1.jsonlines"
    if not vispro.exists():
        pytest.skip(f"VisPro data not found at {vispro}")
    convert_jsonlines(vispro, tmp_path / "vispro.spacy")
    examples = list(MultimodalCorpus(tmp_path / "vispro.spacy", gold_mentions=True, limit=100)(nlp))
    assert len(examples) == 100
    for eg in examples:
        assert [s.text for s in eg.predicted.spans["mentions"]] == [s.text for s in eg.reference.spans["mentions"]]
        assert eg.predicted._.image_regions.labels == eg.reference._.image_regions.labels
