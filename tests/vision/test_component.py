"""The image_regions component and the record of a model's regions: the way
in for (text, image) pairs, batches, and refusing regions of another kind."""
import numpy
import pytest
import spacy
from PIL import Image

from mcr_spacy import ImageRegions, RegionsError, add_image_regions, make_image_doc
from mcr_spacy.vision import RegionExtractor, describe_regions, trained_regions
from mcr_spacy.vision.component import ImageRegionsComponent

from ..util import coref_nlp, make_examples
from .fakes import CentreDetector, MeanColourEncoder

# The COCO class of each object of the test narrations.
COCO_NAMES = {"man": "person", "woman": "person", "boy": "person", "girl": "person", "dog": "dog",
              "ball": "sports ball", "horse": "horse", "cups": "cup", "tree": "potted plant"}


def photo(seed, height=48, width=64):
    return numpy.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype="uint8")


def fake_component(encoder=True):
    return ImageRegionsComponent(RegionExtractor(CentreDetector(), MeanColourEncoder() if encoder else None))


def test_pipe_equals_call_and_batches_images(tmp_path):
    nlp = spacy.blank("en")
    component = fake_component()
    paths = [tmp_path / f"{i}.png" for i in range(5)]
    for i, path in enumerate(paths):
        Image.fromarray(photo(i)).save(path)
    docs = [make_image_doc(nlp, f"Picture {i}.", path) for i, path in enumerate(paths)]
    docs.append(nlp.make_doc("No image here."))
    out = list(component.pipe(docs, batch_size=2))
    assert component.extractor.detector.calls == [2, 2, 1]  # a batch of images per call
    assert out[-1]._.image_regions is None
    assert [d._.image_regions.image_id for d in out[:5]] == [str(i) for i in range(5)]
    assert out[0]._.image == str(paths[0])
    single = component(make_image_doc(nlp, "Picture 0.", paths[0]))
    assert single._.image_regions.features.tobytes() == out[0]._.image_regions.features.tobytes()
    array_doc = component(make_image_doc(nlp, "An array.", photo(0)))
    assert array_doc._.image is None and array_doc._.image_regions.image_id is None


def test_the_factory_runs_in_nlp_pipe(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("image_regions", config={"extractor": {"encoder": None, "features": False}})
    docs = list(nlp.pipe([make_image_doc(nlp, "One.", photo(1)), "Two.", make_image_doc(nlp, "Three.", photo(3))], batch_size=2))
    assert docs[0]._.image_regions.labels[0] == "image" and docs[0]._.image_regions.features is None
    assert docs[1]._.image_regions is None
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.pipe_names == ["image_regions"]
    assert loaded.get_pipe("image_regions").extractor.feature_width == 0


def test_an_unreadable_image_names_itself(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(ValueError, match=r"\[E802\].*bad\.jpg"):
        fake_component()(make_image_doc(spacy.blank("en"), "Text.", tmp_path / "bad.jpg"))


def label_only_examples(nlp, n=8):
    examples = make_examples(nlp, n=n, with_features=False)
    for eg in examples:
        for doc in (eg.predicted, eg.reference):
            regions = doc._.image_regions
            doc._.image_regions = ImageRegions(
                regions.boxes, labels=[COCO_NAMES[label] for label in regions.labels],
                image_size=regions.image_size, image_id=regions.image_id, extractor="test.coco_detector",
            )
    return examples


def test_a_label_only_model_accepts_coco_detections_and_refuses_features(tmp_path):
    nlp = coref_nlp()
    examples = label_only_examples(nlp)
    nlp.initialize(lambda: examples)
    record = trained_regions(nlp)
    assert record == {"extractor": "test.coco_detector", "feature_width": 0, "label_set": "coco", "component": "multimodal_coref"}
    nlp.to_disk(tmp_path / "model")
    nlp = spacy.load(tmp_path / "model")
    assert trained_regions(nlp)["label_set"] == "coco"
    component = add_image_regions(nlp, config={"extractor": {"detector": None, "encoder": None, "features": False}})
    assert nlp.pipe_names[0] == "image_regions" and component.extractor.encoder is None
    doc = make_image_doc(nlp, "A man holds a dog. He likes it.", photo(0))
    doc = nlp(doc)
    assert doc._.image_regions.features is None and doc._.image_regions.labels[0] == "image"
    with_features = nlp.make_doc("A man holds a dog.")
    with_features._.image_regions = RegionExtractor(CentreDetector(), MeanColourEncoder())([photo(1)])[0]
    with pytest.raises(RegionsError, match=r"\[E812\].*test\.centre_detector.*test\.coco_detector"):
        nlp(with_features)
    other_labels = nlp.make_doc("A man holds a dog.")
    other_labels._.image_regions = ImageRegions([[0, 0, 5, 5]], labels=["shirt"], image_size=(10, 10), extractor="vg")
    with pytest.raises(RegionsError, match=r"\[E814\].*shirt"):
        nlp(other_labels)


def test_a_feature_model_refuses_another_width_naming_both_extractors():
    nlp = coref_nlp()
    examples = make_examples(nlp, n=6)
    nlp.initialize(lambda: examples)
    assert trained_regions(nlp)["feature_width"] == 16 and trained_regions(nlp)["extractor"] is None
    doc = nlp.make_doc("A man holds a dog.")
    doc._.image_regions = RegionExtractor(CentreDetector(), MeanColourEncoder())([photo(2)])[0]
    with pytest.raises(RegionsError, match=r"\[E811\].*test\.centre_detector \+ test\.mean_colour.*width 3.*unrecorded.*width 16"):
        nlp(doc)
    with pytest.raises(RegionsError, match=r"\[E811\].*1280.*16"):
        add_image_regions(nlp)
    doc._.image_regions = None
    assert nlp(doc) is doc  # text-only still works


def test_describe_regions():
    nlp = spacy.blank("en")
    docs = [nlp.make_doc("a"), nlp.make_doc("b"), nlp.make_doc("c")]
    docs[0]._.image_regions = ImageRegions([[0, 0, 1, 1]], labels=["image"], image_size=(1, 1), extractor="x")
    docs[1]._.image_regions = ImageRegions([[0, 0, 1, 1]], labels=["dog"], image_size=(1, 1), extractor="x")
    assert describe_regions(docs, 0) == {"extractor": "x", "feature_width": 0, "label_set": "coco"}
    docs[2]._.image_regions = ImageRegions([[0, 0, 1, 1]], labels=["man"], image_size=(1, 1), extractor="y")
    assert describe_regions(docs, 8) == {"extractor": "x", "feature_width": 8, "label_set": "other"}
    assert describe_regions([nlp.make_doc("d")], None) == {"extractor": None, "feature_width": 0, "label_set": None}


def test_nlp_pipe_with_processes_equals_one_process(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("image_regions")
    paths = [tmp_path / f"{i}.png" for i in range(4)]
    for i, path in enumerate(paths):
        Image.fromarray(photo(i, 64, 96)).save(path)
    nlp(make_image_doc(nlp, "Warm up: the weights load in the parent.", paths[0]))
    one = [d._.image_regions for d in nlp.pipe([make_image_doc(nlp, "A photo.", p) for p in paths], batch_size=2)]
    two = [d._.image_regions for d in nlp.pipe([make_image_doc(nlp, "A photo.", p) for p in paths], batch_size=2, n_process=2)]
    # Same boxes, labels and scores; features equal up to float rounding (the
    # workers run torch on one thread, the parent on its default count).
    assert [(r.boxes.tobytes(), r.labels, r.scores.tobytes(), r.image_id) for r in two] == [
        (r.boxes.tobytes(), r.labels, r.scores.tobytes(), r.image_id) for r in one
    ]
    for a, b in zip(two, one):
        numpy.testing.assert_allclose(a.features, b.features, rtol=1e-4, atol=1e-4)
