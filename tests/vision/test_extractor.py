"""Region extraction: the default detector and encoder on real photos, RoI
align, batching, determinism, and the registry."""
import json
from pathlib import Path

import numpy
import pytest
import torch
from spacy.util import registry

from mcr_spacy import ImageError
from mcr_spacy.annotation.boxes import box_iou
from mcr_spacy.vision import Detections, RegionExtractor, roi_align

from ..util import SHARED_DATA
from .fakes import CentreDetector, MeanColourEncoder

FLICKR = SHARED_DATA / "flickr30k-sample"
needs_flickr = pytest.mark.skipif(not FLICKR.is_dir(), reason="the Flickr30k sample is not in the shared data folder")


@needs_flickr
def test_detector_finds_the_man_of_1016887272(extractor):
    records = json.loads((FLICKR / "phrase_boxes_test.json").read_text())
    gold = next(r["box"] for r in records if r["image"] == "1016887272#0" and r["phrase"] == ["the", "man"])
    x, y, w, h = gold
    gold_box = [x, y, x + w, y + h]
    regions = extractor([FLICKR / "1016887272.jpg"], ["1016887272"])[0]
    assert regions.image_size == (333, 500)
    people = [box for box, label in zip(regions.boxes, regions.labels) if label == "person"]
    assert people, regions.labels
    assert box_iou(numpy.asarray(people), numpy.asarray([gold_box])).max() >= 0.5


@needs_flickr
def test_features_are_deterministic_and_batch_independent(extractor):
    paths = sorted(FLICKR.glob("*.jpg"))
    one = extractor([paths[0]])[0]
    again = extractor([paths[0]])[0]
    batch = extractor(paths)
    assert one.features.tobytes() == again.features.tobytes()
    assert batch[0].features.tobytes() == one.features.tobytes()
    assert batch[0].boxes.tobytes() == one.boxes.tobytes()
    assert len({r.features[0].tobytes() for r in batch}) == len(paths)  # different photos, different features


def test_regions_carry_whole_image_labels_scores_and_extractor_name():
    image = numpy.zeros((40, 80, 3), dtype="uint8")
    image[10:30, 20:60] = 200
    extractor = RegionExtractor(CentreDetector(), MeanColourEncoder())
    regions = extractor([image], ["img"])[0]
    assert regions.labels == ["image", "dog"]
    numpy.testing.assert_allclose(regions.scores, [1.0, 0.9])
    numpy.testing.assert_allclose(regions.boxes, [[0, 0, 80, 40], [20, 10, 60, 30]])
    numpy.testing.assert_allclose(regions.features[1], [200, 200, 200])
    assert regions.image_id == "img"
    assert regions.extractor == extractor.name == "test.centre_detector + test.mean_colour"
    label_only = RegionExtractor(CentreDetector(), None)([image])[0]
    assert label_only.features is None and label_only.labels == ["image", "dog"]


def test_roi_align_averages_inside_the_box():
    # A map whose value is its column index: the mean over a box is its centre column.
    width, height = 16, 8
    columns = torch.arange(width, dtype=torch.float32).expand(height, width)
    feature_map = torch.stack([columns, torch.ones(height, width)])
    boxes = torch.tensor([[0.25, 0.0, 0.75, 1.0], [0.0, 0.5, 0.5, 1.0]])
    pooled = roi_align(feature_map, boxes, samples=4)
    assert pooled.shape == (2, 2)
    # Column j has its centre at x = j + 0.5: the box x in [4, 12) samples x = 5, 7, 9, 11, values 4.5 ... 10.5.
    numpy.testing.assert_allclose(pooled[:, 0].numpy(), [7.5, 3.5], atol=1e-5)
    numpy.testing.assert_allclose(pooled[:, 1].numpy(), [1.0, 1.0])
    assert roi_align(feature_map, torch.zeros((0, 4)), samples=4).shape == (0, 2)


def test_a_wrong_detector_or_encoder_is_a_clear_error():
    image = numpy.zeros((10, 10, 3), dtype="uint8")

    def no_results(images):
        return []

    class Narrow(MeanColourEncoder):
        def __call__(self, images, boxes):
            return [f[:, :2] for f in super().__call__(images, boxes)]

    with pytest.raises(ImageError, match=r"\[E809\]"):
        RegionExtractor(no_results, None)([image])
    with pytest.raises(ImageError, match=r"\[E810\]"):
        RegionExtractor(CentreDetector(), Narrow())([image])
    assert RegionExtractor(lambda images: [Detections.empty() for _ in images])([image])[0].labels == ["image"]


def test_registered_parts_resolve():
    config = {
        "extractor": {
            "@misc": "mcr_spacy.region_extractor.v1",
            "detector": {"@misc": "mcr_spacy.ssd_mobilenet_v2_coco.v1", "min_score": 0.5, "max_detections": 10},
            "encoder": {"@misc": "mcr_spacy.efficientnet_lite0_regions.v1", "long_side": 256},
        }
    }
    extractor = registry.resolve(config)["extractor"]
    assert isinstance(extractor, RegionExtractor)
    assert extractor.detector.min_score == 0.5 and extractor.encoder.long_side == 256
    assert extractor.feature_width == 1280
    with pytest.raises(ImageError, match=r"\[E808\]"):
        registry.resolve({"d": {"@misc": "mcr_spacy.ssd_mobilenet_v2_coco.v1", "min_score": 2.0}})


def test_the_shipped_photo_gets_its_cup_and_table(extractor):
    """docs/photos/coffee.png (CC0): the default detector finds the cup and the table."""
    photo = Path(__file__).resolve().parents[2] / "docs" / "photos" / "coffee.png"
    regions = extractor([photo], ["coffee"])[0]
    assert regions.image_size == (600, 400)
    cups = numpy.asarray([box for box, label in zip(regions.boxes, regions.labels) if label == "cup"])
    assert len(cups) and box_iou(cups, numpy.asarray([[172.0, 15.0, 410.0, 285.0]])).max() >= 0.5  # measured by eye
    assert "dining table" in regions.labels


def test_setup_cfg_entry_points_of_the_vision_package_resolve():
    """Every vision entry point in this tree's setup.cfg names the registered
    function (the installed metadata may come from another checkout)."""
    import configparser
    import importlib

    import spacy

    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    found = []
    for group, table in (("spacy_misc", registry.misc), ("spacy_factories", None)):
        for line in config["options.entry_points"][group].strip().splitlines():
            name, target = (part.strip() for part in line.split("="))
            module, attr = target.split(":")
            if not module.startswith("mcr_spacy.vision"):
                continue
            func = getattr(importlib.import_module(module), attr)
            if table is not None:
                assert table.get(name) is func
            else:
                assert spacy.blank("en").add_pipe(name).name == name
            found.append(name)
    assert sorted(found) == [
        "image_regions", "mcr_spacy.efficientnet_lite0_regions.v1", "mcr_spacy.region_extractor.v1",
        "mcr_spacy.ssd_mobilenet_v2_coco.v1",
    ]
