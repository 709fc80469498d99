"""The lazy MAF region reader: one image's rows, clear errors for bad files."""
import json
import pickle
import tracemalloc

import h5py
import numpy
import pytest

from mcr_spacy.convert.features import FeatureStores, RegionFeatureStore, load_imgid2idx
from mcr_spacy.errors import DataFormatError

WIDTH = 8


def write_split(folder, split="val", images=None, width=WIDTH, detections=True, bboxes=False, chunks=None):
    """Hand-written MAF files: images = {id: (n_regions, [labels])}."""
    images = images or {"101": 2, "202": 3, "303": 1}
    folder.mkdir(parents=True, exist_ok=True)
    rng = numpy.random.default_rng(0)
    total = sum(images.values())
    feats = rng.random((total, width), dtype="float32")
    pos, boxes, det, row = [], [], {}, 0
    for image_id, n in images.items():
        pos.append([row, row + n])
        b = [[10.0 * i, 5.0 * i, 10.0 * i + 50, 5.0 * i + 40] for i in range(n)]
        boxes.extend(b)
        det[image_id] = {"bboxes": b, "classes": [f"thing{i}" for i in range(n)], "attrs": [""] * n}
        row += n
    with h5py.File(folder / f"{split}_features_compress.hdf5", "w") as f:
        f.create_dataset("features", data=feats, chunks=chunks)
        f.create_dataset("pos_bboxes", data=numpy.asarray(pos, dtype="int64").reshape((-1, 2)))
        if bboxes:
            f.create_dataset("bboxes", data=numpy.asarray(boxes, dtype="float32"))
    with open(folder / f"{split}_imgid2idx.pkl", "wb") as f:
        pickle.dump({int(k): i for i, k in enumerate(images)}, f)
    if detections:
        (folder / f"{split}_detection_dict.json").write_text(json.dumps(det))
    return feats


def test_reads_one_image(tmp_path):
    feats = write_split(tmp_path / "faster_rcnn_image_features")
    with RegionFeatureStore(tmp_path, "val") as store:
        assert len(store) == 3 and "202" in store and 202 in store and "999" not in store
        regions = store.get("202", image_size=(200, 100))
        assert regions.image_id == "202"
        assert regions.features.shape == (3, WIDTH)
        numpy.testing.assert_array_equal(regions.features, feats[2:5])
        assert regions.labels == ["thing0", "thing1", "thing2"]
        assert regions.boxes[1].tolist() == [10.0, 5.0, 60.0, 45.0]
        assert regions.image_size == (200.0, 100.0)


def test_boxes_from_hdf5_and_size_from_extent(tmp_path):
    write_split(tmp_path, detections=False, bboxes=True)
    with RegionFeatureStore(tmp_path, "val") as store:
        regions = store.get(101)
    assert regions.labels is None
    assert regions.boxes.tolist() == [[0, 0, 50, 40], [10, 5, 60, 45]]
    assert regions.image_size == (60.0, 45.0)


def test_no_boxes_anywhere(tmp_path):
    write_split(tmp_path, detections=False, bboxes=False)
    with RegionFeatureStore(tmp_path, "val") as store:
        with pytest.raises(DataFormatError, match="no boxes"):
            store.get("101", image_size=(100, 100))


def test_unknown_image_id(tmp_path):
    write_split(tmp_path)
    with RegionFeatureStore(tmp_path, "val") as store:
        with pytest.raises(DataFormatError, match=r"'12345'.*split 'val'"):
            store.get("12345", image_size=(100, 100))


def test_wrong_width(tmp_path):
    write_split(tmp_path)
    with pytest.raises(DataFormatError, match=f"{WIDTH} wide, but width 2048 is expected"):
        RegionFeatureStore(tmp_path, "val", feature_width=2048)


def test_missing_split_names_found_splits(tmp_path):
    write_split(tmp_path, split="val")
    with pytest.raises(DataFormatError, match=r"split 'train'.*\['val'\]"):
        RegionFeatureStore(tmp_path, "train")


def test_truncated_hdf5(tmp_path):
    write_split(tmp_path)
    path = tmp_path / "val_features_compress.hdf5"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="truncated or corrupt"):
        RegionFeatureStore(tmp_path, "val")


def test_not_hdf5(tmp_path):
    write_split(tmp_path)
    (tmp_path / "val_features_compress.hdf5").write_bytes(b"this is not an hdf5 file" * 10)
    with pytest.raises(DataFormatError, match="Cannot open"):
        RegionFeatureStore(tmp_path, "val")


def test_missing_dataset(tmp_path):
    write_split(tmp_path)
    with h5py.File(tmp_path / "val_features_compress.hdf5", "a") as f:
        del f["pos_bboxes"]
    with pytest.raises(DataFormatError, match="no dataset 'pos_bboxes'"):
        RegionFeatureStore(tmp_path, "val")


def test_pos_bboxes_past_the_end(tmp_path):
    write_split(tmp_path)
    with h5py.File(tmp_path / "val_features_compress.hdf5", "a") as f:
        f["pos_bboxes"][2] = [5, 99]
    with pytest.raises(DataFormatError, match="pos_bboxes` row 2"):
        RegionFeatureStore(tmp_path, "val")


def test_id_map_pointing_past_index(tmp_path):
    write_split(tmp_path)
    with open(tmp_path / "val_imgid2idx.pkl", "wb") as f:
        pickle.dump({101: 0, 202: 7}, f)
    with pytest.raises(DataFormatError, match="do not belong together"):
        RegionFeatureStore(tmp_path, "val")


def test_corrupt_and_unsafe_pickles(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps({1: 0})[:-3])
    with pytest.raises(DataFormatError, match="truncated"):
        load_imgid2idx(path)
    # a pickle that would call a function on load is refused
    path.write_bytes(pickle.dumps(numpy.zeros(3)))
    with pytest.raises(DataFormatError, match="refusing"):
        load_imgid2idx(path)
    path.write_bytes(pickle.dumps({numpy.int64(5): numpy.int64(2), "7": 3}))
    assert load_imgid2idx(path) == {"5": 2, "7": 3}


def test_detection_count_mismatch(tmp_path):
    write_split(tmp_path)
    det = json.loads((tmp_path / "val_detection_dict.json").read_text())
    det["101"]["bboxes"].append([1, 1, 2, 2])
    (tmp_path / "val_detection_dict.json").write_text(json.dumps(det))
    with RegionFeatureStore(tmp_path, "val") as store:
        with pytest.raises(DataFormatError, match="3 boxes but 2 feature rows"):
            store.get("101", image_size=(100, 100))


def test_truncated_detection_dict(tmp_path):
    write_split(tmp_path)
    path = tmp_path / "val_detection_dict.json"
    path.write_text(path.read_text()[:-10])
    with RegionFeatureStore(tmp_path, "val") as store:
        with pytest.raises(DataFormatError, match="truncated"):
            store.get("101", image_size=(100, 100))


def test_box_far_outside_image_is_refused(tmp_path):
    write_split(tmp_path)
    with RegionFeatureStore(tmp_path, "val") as store:
        with pytest.raises(DataFormatError, match="outside the image"):
            store.get("202", image_size=(30, 30))
        # a rounding margin is clipped
        regions = store.get("101", image_size=(59, 44))
        assert regions.boxes.max(axis=0).tolist()[2:] == [59.0, 44.0]


def test_feature_stores_search_preferred_split_first(tmp_path):
    write_split(tmp_path, split="val", images={"1": 1, "2": 2})
    write_split(tmp_path, split="test", images={"2": 4, "3": 1})
    with FeatureStores(tmp_path) as stores:
        assert stores.splits == ["test", "val"]
        assert stores.find("2", prefer="val").split == "val"
        assert stores.find("2", prefer="test").split == "test"
        assert stores.find("1").split == "val"
        assert stores.find("4") is None


def test_one_image_is_read_without_loading_the_file(tmp_path, monkeypatch):
    """A big features file (100k rows, ~25 MB): reading one image touches only
    its rows, and allocates about as much memory as those rows."""
    n_images, per_image, width = 20000, 5, 64
    folder = tmp_path
    with h5py.File(folder / "train_features_compress.hdf5", "w") as f:
        ds = f.create_dataset("features", shape=(n_images * per_image, width), dtype="float32", chunks=(64, width))
        block = numpy.arange(per_image * 1000 * width, dtype="float32").reshape((-1, width))
        for start in range(0, n_images * per_image, len(block)):
            ds[start : start + len(block)] = block + start
        starts = numpy.arange(n_images, dtype="int64") * per_image
        f.create_dataset("pos_bboxes", data=numpy.stack([starts, starts + per_image], axis=1))
        f.create_dataset("bboxes", data=numpy.tile(numpy.asarray([[0, 0, 10, 10]], dtype="float32"), (n_images * per_image, 1)))
    with open(folder / "train_imgid2idx.pkl", "wb") as f:
        pickle.dump({1000 + i: i for i in range(n_images)}, f)
    assert (folder / "train_features_compress.hdf5").stat().st_size > 20_000_000

    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, args, *rest, **kwargs):
        reads.append((self.name, args))
        return original(self, args, *rest, **kwargs)

    with RegionFeatureStore(folder, "train") as store:
        monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
        tracemalloc.start()
        regions = store.get(1000 + 12345, image_size=(10, 10))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rows = slice(12345 * per_image, 12346 * per_image)
    assert ("/features", rows) in reads
    assert all(args == rows for _, args in reads), reads
    assert regions.features.shape == (per_image, width)
    row = 12345 * per_image
    block_start = row - row % (per_image * 1000)
    assert regions.features[0, 0] == (row - block_start) * width + block_start
    assert peak < 2_000_000, peak
