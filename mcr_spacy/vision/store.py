"""Writing extracted regions in the MAF / CIN layout that `convert-cin` and
`convert-jsonlines --regions` read (`mcr_spacy.convert.features`):

- `{split}_features_compress.hdf5`: `features` [total_regions, D] float32,
  `pos_bboxes` [n_images, 2] (first row, row after the last), `bboxes`
  [total_regions, 4] pixels; attributes `extractor` and `feature_width`.
- `{split}_imgid2idx.pkl`: image id -> row of `pos_bboxes` (int ids for
  numeric file names such as Flickr30k's, else the file name's stem).
- `{split}_detection_dict.json`: image id -> `{"bboxes", "classes", "scores",
  "image_w", "image_h"}`.

Features are appended to the HDF5 file image by image (a folder of tens of
thousands of photos never sits in memory); the three files are written under
temporary names and renamed only when all are complete.
"""
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy

from ..annotation.regions import ImageRegions
from ..convert.common import normalize_image_id
from ..convert.features import DETECTIONS_TEMPLATE, FEATURES_TEMPLATE, IMGID2IDX_TEMPLATE
from ..errors import Errors, ImageError
from ..training.io import write_bytes_atomic

CHUNK_ROWS = 64


def split_files(out_dir: Union[str, Path], split: str) -> List[Path]:
    """The three files of a split in `out_dir`."""
    out_dir = Path(out_dir)
    return [out_dir / t.format(split=split) for t in (FEATURES_TEMPLATE, IMGID2IDX_TEMPLATE, DETECTIONS_TEMPLATE)]


def pickle_key(image_id: str) -> Union[int, str]:
    """The key of an image in `imgid2idx`: an int for numeric ids (as in the
    MAF files), else the id itself."""
    return int(image_id) if image_id.isascii() and image_id.isdigit() else image_id


class RegionFileWriter:
    """Append the regions of images one by one, then `commit` (or `abort`).
    Used as a context manager, an exception aborts: nothing is left behind.

    out_dir: the folder of the files (`faster_rcnn_image_features/` of a CIN
        data folder, for convert-cin).
    split (str): the split name in the file names.
    feature_width (int): the width D of every image's features.
    extractor (str or None): the extractor's name, stored in the HDF5 file.
    """

    def __init__(self, out_dir: Union[str, Path], split: str, feature_width: int, extractor: Optional[str] = None) -> None:
        import h5py

        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.feature_width = int(feature_width)
        self.extractor = extractor
        fd, tmp = tempfile.mkstemp(prefix=".regions.", suffix=".hdf5.tmp", dir=str(self.out_dir))
        os.close(fd)
        self._tmp: Optional[Path] = Path(tmp)
        self._file = h5py.File(tmp, "w", track_order=False)
        chunks = (CHUNK_ROWS, max(1, self.feature_width))
        self._features = self._file.create_dataset(
            "features", shape=(0, self.feature_width), maxshape=(None, self.feature_width),
            dtype="float32", chunks=chunks if self.feature_width else None, track_times=False,
        )
        self._boxes = self._file.create_dataset(
            "bboxes", shape=(0, 4), maxshape=(None, 4), dtype="float32", chunks=(CHUNK_ROWS, 4), track_times=False,
        )
        self._pos: List[List[int]] = []
        self._imgid2idx: Dict[Union[int, str], int] = {}
        self._detections: Dict[str, Dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._pos)

    def add(self, regions: ImageRegions) -> None:
        """Append one image's regions (its `image_id` names it)."""
        image_id = normalize_image_id(regions.image_id)
        if regions.feature_width != self.feature_width:
            raise ImageError(Errors.E810.format(
                name=regions.extractor, shape=[len(regions), regions.feature_width], n_boxes=len(regions),
                where=f"image {image_id}", width=self.feature_width,
            ))
        start = self._features.shape[0]
        end = start + len(regions)
        self._features.resize((end, self.feature_width))
        self._boxes.resize((end, 4))
        if len(regions):
            self._features[start:end] = regions.features
            self._boxes[start:end] = regions.boxes
        self._imgid2idx[pickle_key(image_id)] = len(self._pos)
        self._pos.append([start, end])
        self._detections[image_id] = {
            "bboxes": numpy.round(regions.boxes, 2).tolist(),
            "classes": list(regions.labels or []),
            "scores": [] if regions.scores is None else numpy.round(regions.scores, 4).tolist(),
            "image_w": regions.image_size[0],
            "image_h": regions.image_size[1],
        }

    def commit(self) -> List[Path]:
        """Finish the files and move them into place; returns their paths."""
        pos = numpy.asarray(self._pos, dtype="int64").reshape((-1, 2))
        self._file.create_dataset("pos_bboxes", data=pos, track_times=False)
        self._file.attrs["extractor"] = self.extractor or ""
        self._file.attrs["feature_width"] = self.feature_width
        self._file.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)  # mkstemp makes files private; give the usual mode
        features_path, imgid2idx_path, detections_path = split_files(self.out_dir, self.split)
        write_bytes_atomic(pickle.dumps(self._imgid2idx, protocol=4), imgid2idx_path)
        write_bytes_atomic(json.dumps(self._detections, ensure_ascii=False).encode("utf8"), detections_path)
        os.replace(self._tmp, features_path)
        self._tmp = None
        return [features_path, imgid2idx_path, detections_path]

    def abort(self) -> None:
        """Remove the unfinished file."""
        if self._file.id.valid:
            self._file.close()
        if self._tmp is not None and self._tmp.exists():
            self._tmp.unlink()
        self._tmp = None

    def __enter__(self) -> "RegionFileWriter":
        return self

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is not None:
            self.abort()
