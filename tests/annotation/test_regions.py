import numpy
import pytest
import spacy
from spacy.tokens import Doc

from mcr_spacy import ImageRegions, RegionsError, boxes_from_xywh
from mcr_spacy.training.io import read_corpus, write_docbin


def regions(**kwargs):
    args = dict(
        boxes=[[0, 0, 10, 20], [5, 5, 30, 40]],
        features=numpy.arange(6, dtype="float32").reshape((2, 3)),
        labels=["man", "dog"],
        scores=[0.9, 0.5],
        image_size=(40, 50),
        image_id="123",
    )
    args.update(kwargs)
    return ImageRegions(**args)


def test_normalized_boxes():
    norm = regions().normalized_boxes()
    assert norm.shape == (2, 5)
    numpy.testing.assert_allclose(norm[0], [0, 0, 0.25, 0.4, 0.1])


def test_features_or_labels_required():
    assert regions(features=None).labels == ["man", "dog"]
    assert regions(labels=None).feature_width == 3
    with pytest.raises(RegionsError, match=r"\[E009\]"):
        regions(features=None, labels=None)
    assert len(ImageRegions.empty((10, 10))) == 0


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"image_size": (10,)}, r"\[E001\]"),
        ({"image_size": (0, 10)}, r"\[E002\]"),
        ({"boxes": [[0, 0, 10]]}, r"\[E003\]"),
        ({"boxes": [[0, 0, 10, 20], [30, 5, 20, 40]]}, r"\[E004\].*box 1 "),
        ({"boxes": [[0, 0, 10, 20], [5, 5, 30, 60]]}, r"\[E005\].*box 1 .*\[40.0, 50.0\]"),
        ({"features": numpy.zeros((3, 3))}, r"\[E006\].*'123'.*N = 2"),
        ({"labels": "man"}, r"\[E007\]"),
        ({"labels": ["man"]}, r"\[E008\].*1 labels for 2 boxes"),
        ({"scores": [1.0]}, r"\[E010\].*1 scores for 2 boxes"),
        ({"boxes": [[0, 0, 10, 20], [0, numpy.inf, 1, 1]]}, r"\[E011\].*boxes"),
        ({"scores": [numpy.nan, 1.0]}, r"\[E011\].*scores"),
    ],
)
def test_validation_errors(kwargs, message):
    with pytest.raises(RegionsError, match=message):
        regions(**kwargs)


def test_clip():
    clipped = regions(boxes=[[-5, 0, 10, 20], [5, 5, 45, 60]], clip=True)
    assert clipped.boxes.tolist() == [[0, 0, 10, 20], [5, 5, 40, 50]]


def test_xywh():
    assert boxes_from_xywh([[1, 2, 3, 4]]).tolist() == [[1, 2, 4, 6]]


def test_corpus_file_and_bytes_roundtrip(tmp_path):
    nlp = spacy.blank("en")
    doc = nlp("A man and a dog.")
    doc._.image_regions = regions()
    write_docbin([doc], tmp_path / "r.spacy")
    (restored,) = read_corpus(tmp_path / "r.spacy", nlp.vocab)
    assert restored._.image_regions == doc._.image_regions
    assert isinstance(restored._.image_regions, ImageRegions)
    restored2 = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert restored2._.image_regions == doc._.image_regions
    label_only = regions(features=None, scores=None)
    doc._.image_regions = label_only
    assert Doc(nlp.vocab).from_bytes(doc.to_bytes())._.image_regions == label_only
    assert label_only != regions()
