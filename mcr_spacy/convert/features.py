"""Lazy reader of detected regions in the MAF / CIN Faster R-CNN format.

Files of one split, in one folder (usually `faster_rcnn_image_features/`):

- `{split}_features_compress.hdf5`: dataset `features` [total_regions, D] (D = 2048
  for the VG-trained Faster R-CNN) and `pos_bboxes` [n_images, 2], the first row
  and the row after the last of each image; optionally `bboxes` [total_regions, 4]
  (x1, y1, x2, y2 pixels).
- `{split}_imgid2idx.pkl`: a pickled dict, int image id -> row of `pos_bboxes`.
- `{split}_detection_dict.json`: str image id -> `{"bboxes": [[x1, y1, x2, y2], ...]
  (pixels), "classes": [names], "attrs": [...] (optional)}`.

Only the rows of the images asked for are read from the HDF5 file.
"""
import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy

from ..errors import DataFormatError
from .common import image_size_from, load_json, normalize_image_id
from ..annotation.regions import ImageRegions

FEATURES_FOLDER = "faster_rcnn_image_features"
FEATURES_TEMPLATE = "{split}_features_compress.hdf5"
IMGID2IDX_TEMPLATE = "{split}_imgid2idx.pkl"
DETECTIONS_TEMPLATE = "{split}_detection_dict.json"
# Boxes may leave the image by this fraction of its size (detector rounding)
# and are then clipped; further out, the image size is wrong.
CLIP_TOLERANCE = 0.05


def find_features_dir(data_dir: Union[str, Path]) -> Path:
    """The folder that holds the feature files: `data_dir` itself or its
    `faster_rcnn_image_features/` subfolder."""
    data_dir = Path(data_dir)
    sub = data_dir / FEATURES_FOLDER
    if sub.is_dir():
        return sub
    return data_dir


def available_splits(features_dir: Union[str, Path]) -> List[str]:
    """The splits that have a features file in `features_dir`."""
    suffix = FEATURES_TEMPLATE.format(split="")
    return sorted(
        p.name[: -len(suffix)] for p in Path(features_dir).glob("*" + suffix) if p.is_file()
    )


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy scalars only: an id map needs nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_imgid2idx(path: Union[str, Path]) -> Dict[str, int]:
    """Read `{split}_imgid2idx.pkl`: image id -> row of `pos_bboxes`. Keys are
    returned as strings ("1016887272")."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(
            f"Missing image id map {path}. Each features file needs its "
            f"`{IMGID2IDX_TEMPLATE.format(split='<split>')}` next to it."
        )
    try:
        with path.open("rb") as file_:
            data = _SafeUnpickler(file_).load()
    except Exception as err:  # truncated, corrupt or not a pickle
        raise DataFormatError(
            f"Cannot read the image id map {path}: {err}. It must be a pickled dict "
            f"{{int image id: row}}; the file may be truncated: download it again."
        ) from err
    if not isinstance(data, dict):
        raise DataFormatError(
            f"Image id map {path} holds a {type(data).__name__}, not a dict "
            f"{{int image id: row of pos_bboxes}}."
        )
    out = {}
    for key, value in data.items():
        try:
            # Int ids as in the MAF files; file-name ids (extract-regions) as strings.
            out[normalize_image_id(key) if isinstance(key, str) else str(int(key))] = int(value)
        except (TypeError, ValueError):
            raise DataFormatError(
                f"Image id map {path}: entry {key!r}: {value!r} is not "
                f"image id -> int row."
            ) from None
    return out


def load_detection_dict(path: Union[str, Path]) -> Dict[str, Dict[str, Any]]:
    """Read `{split}_detection_dict.json`: str image id -> detections."""
    path = Path(path)
    data = load_json(path, "detections")
    if not isinstance(data, dict):
        raise DataFormatError(
            f"{path} must hold a JSON object {{image id: {{'bboxes': [...], "
            f"'classes': [...]}}}}, not a {type(data).__name__}."
        )
    return {normalize_image_id(key): value for key, value in data.items()}


class RegionFeatureStore:
    """Region features of one split, read lazily: opening the store reads the
    id map and the small `pos_bboxes` index; `get` reads one image's rows.

    features_dir: folder with the split's files (or its parent data folder).
    split: e.g. "train", "val", "test".
    feature_width: the width D the features must have (None: any).
    use_detections: read boxes and labels from the detection dict when present.
    """

    def __init__(
        self,
        features_dir: Union[str, Path],
        split: str,
        *,
        feature_width: Optional[int] = None,
        use_detections: bool = True,
    ) -> None:
        import h5py

        self.dir = find_features_dir(features_dir)
        self.split = split
        self.path = self.dir / FEATURES_TEMPLATE.format(split=split)
        if not self.path.is_file():
            found = available_splits(self.dir)
            raise DataFormatError(
                f"No region features for split {split!r}: {self.path} does not exist "
                f"(splits found there: {found or 'none'}). Place the MAF Faster R-CNN "
                f"feature files in {FEATURES_FOLDER}/, or choose another split."
            )
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as err:
            raise DataFormatError(
                f"Cannot open {self.path} as HDF5 ({err}). The file is truncated or "
                f"corrupt: download or generate it again."
            ) from err
        try:
            for name in ("features", "pos_bboxes"):
                if name not in self._file:
                    raise DataFormatError(
                        f"{self.path} has no dataset {name!r} (it has "
                        f"{sorted(self._file.keys())}). Expected `features` [total, D] and "
                        f"`pos_bboxes` [n_images, 2]."
                    )
            self._features = self._file["features"]
            if self._features.ndim != 2:
                raise DataFormatError(
                    f"{self.path}: `features` must be 2-d [total_regions, D], got shape "
                    f"{list(self._features.shape)}."
                )
            self.n_rows, self.width = (int(d) for d in self._features.shape)
            if feature_width is not None and self.width != int(feature_width):
                raise DataFormatError(
                    f"{self.path}: region features are {self.width} wide, but width "
                    f"{feature_width} is expected. Use the features the model was "
                    f"configured for, or set the expected width to {self.width}."
                )
            try:
                pos = numpy.asarray(self._file["pos_bboxes"][()], dtype="int64")
            except (OSError, ValueError, TypeError) as err:
                raise DataFormatError(
                    f"Cannot read `pos_bboxes` from {self.path} ({err}); the file is "
                    f"corrupt: download or generate it again."
                ) from err
            if pos.ndim != 2 or pos.shape[1] != 2:
                raise DataFormatError(
                    f"{self.path}: `pos_bboxes` must have shape [n_images, 2] "
                    f"(start, end row), got {list(pos.shape)}."
                )
            bad = numpy.where((pos[:, 0] < 0) | (pos[:, 0] > pos[:, 1]) | (pos[:, 1] > self.n_rows))[0]
            if len(bad):
                i = int(bad[0])
                raise DataFormatError(
                    f"{self.path}: `pos_bboxes` row {i} = {pos[i].tolist()} is not a row "
                    f"range within the {self.n_rows} feature rows; the file is corrupt "
                    f"or truncated."
                )
            self._pos = pos
            self._bboxes = self._file["bboxes"] if "bboxes" in self._file else None
            # The extractor's name, where `extract-regions` wrote the file.
            self.extractor = str(self._file.attrs.get("extractor", "")) or None
            self.imgid2idx = load_imgid2idx(self.dir / IMGID2IDX_TEMPLATE.format(split=split))
            for image_id, idx in self.imgid2idx.items():
                if not 0 <= idx < len(pos):
                    raise DataFormatError(
                        f"{self.dir / IMGID2IDX_TEMPLATE.format(split=split)}: image "
                        f"{image_id} maps to row {idx}, but `pos_bboxes` in {self.path} "
                        f"has {len(pos)} rows. The id map and the features file do not "
                        f"belong together."
                    )
        except BaseException:
            self._file.close()
            raise
        self._det_path = self.dir / DETECTIONS_TEMPLATE.format(split=split)
        self._use_detections = use_detections
        self._detections: Optional[Dict[str, Dict[str, Any]]] = None

    def __enter__(self) -> "RegionFeatureStore":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def __contains__(self, image_id: Any) -> bool:
        return normalize_image_id(image_id) in self.imgid2idx

    def __len__(self) -> int:
        return len(self.imgid2idx)

    @property
    def detections(self) -> Optional[Dict[str, Dict[str, Any]]]:
        """The detection dict, read on first use (None if absent or disabled)."""
        if self._detections is None and self._use_detections and self._det_path.is_file():
            self._detections = load_detection_dict(self._det_path)
        return self._detections

    def rows(self, image_id: Any) -> Tuple[int, int]:
        """The feature rows `[start, end)` of an image."""
        key = normalize_image_id(image_id)
        if key not in self.imgid2idx:
            raise DataFormatError(
                f"Image {image_id!r} has no region features in split {self.split!r} "
                f"({self.path}; {len(self.imgid2idx)} images). Check the image id and the "
                f"split, or convert without regions for this image."
            )
        start, end = self._pos[self.imgid2idx[key]]
        return int(start), int(end)

    def read_features(self, image_id: Any) -> numpy.ndarray:
        """The features [n_regions, D] of one image, read from its rows only."""
        start, end = self.rows(image_id)
        try:
            return numpy.asarray(self._features[start:end], dtype="float32")
        except (OSError, ValueError) as err:
            raise DataFormatError(
                f"Cannot read the features of image {image_id!r} (rows {start}-{end}) "
                f"from {self.path} ({err}); the file is corrupt or truncated: download "
                f"or generate it again."
            ) from err

    def get(
        self,
        image_id: Any,
        image_size: Optional[Tuple[float, float]] = None,
    ) -> ImageRegions:
        """The regions of one image as `ImageRegions` (boxes in pixels, features,
        detector labels). `image_size` is `(width, height)`; when None it is taken
        from the detection record (`image_w`/`image_h` or `width`/`height`) or, as
        a last resort, from the extent of the boxes."""
        key = normalize_image_id(image_id)
        features = self.read_features(key)
        n = features.shape[0]
        boxes, labels, size = None, None, None
        det = None if self.detections is None else self.detections.get(key)
        if det is not None:
            boxes, labels, size = _parse_detection(det, key, n, self._det_path)
        if boxes is None and self._bboxes is not None:
            start, end = self.rows(key)
            try:
                boxes = numpy.asarray(self._bboxes[start:end], dtype="float32")
            except (OSError, ValueError) as err:
                raise DataFormatError(
                    f"Cannot read `bboxes` of image {key!r} from {self.path} ({err})."
                ) from err
            if boxes.shape != (n, 4):
                raise DataFormatError(
                    f"{self.path}: `bboxes` rows of image {key!r} have shape "
                    f"{list(boxes.shape)}, expected [{n}, 4]."
                )
        if boxes is None:
            raise DataFormatError(
                f"Image {key!r} has features in {self.path} but no boxes: it is missing "
                f"from {self._det_path} and the HDF5 file has no `bboxes` dataset."
            )
        if image_size is None:
            image_size = size
        if image_size is None:
            image_size = _extent(boxes)
        return make_regions(
            boxes, features, labels, image_size=image_size, image_id=key, source=self.path, extractor=self.extractor
        )


def make_regions(
    boxes: numpy.ndarray,
    features: Optional[numpy.ndarray],
    labels: Optional[Sequence[str]],
    *,
    image_size: Tuple[float, float],
    image_id: str,
    source: Any,
    extractor: Optional[str] = None,
) -> ImageRegions:
    """Build `ImageRegions`, clipping boxes that leave the image by a rounding
    margin and refusing boxes further out (a wrong image size)."""
    width, height = float(image_size[0]), float(image_size[1])
    if len(boxes):
        tol_x, tol_y = CLIP_TOLERANCE * width + 1, CLIP_TOLERANCE * height + 1
        out = numpy.where(
            (boxes[:, 0] < -tol_x) | (boxes[:, 2] > width + tol_x)
            | (boxes[:, 1] < -tol_y) | (boxes[:, 3] > height + tol_y)
        )[0]
        if len(out):
            i = int(out[0])
            raise DataFormatError(
                f"{source}: region {i} {boxes[i].tolist()} of image {image_id!r} lies "
                f"outside the image of size {[width, height]} (width, height). Check "
                f"the image size given for this image."
            )
    return ImageRegions(
        boxes, features, labels, image_size=(width, height), image_id=image_id, clip=True, extractor=extractor
    )


def _parse_detection(
    det: Any, key: str, n: int, path: Path
) -> Tuple[Optional[numpy.ndarray], Optional[List[str]], Optional[Tuple[float, float]]]:
    if not isinstance(det, dict) or "bboxes" not in det:
        raise DataFormatError(
            f"{path}: the entry of image {key!r} must be an object with 'bboxes' "
            f"([[x1, y1, x2, y2], ...] pixels) and 'classes'."
        )
    try:
        boxes = numpy.asarray(det["bboxes"], dtype="float32")
    except (TypeError, ValueError) as err:
        raise DataFormatError(f"{path}: image {key!r}: 'bboxes' are not numbers ({err}).") from err
    if boxes.size == 0:
        boxes = boxes.reshape((0, 4))
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise DataFormatError(
            f"{path}: image {key!r}: 'bboxes' must be a list of [x1, y1, x2, y2], got "
            f"shape {list(boxes.shape)}."
        )
    if boxes.shape[0] != n:
        raise DataFormatError(
            f"{path}: image {key!r} has {boxes.shape[0]} boxes but {n} feature rows. "
            f"The detection dict and the features file do not belong together."
        )
    labels = det.get("classes")
    if labels is not None:
        if not isinstance(labels, list) or len(labels) != n:
            raise DataFormatError(
                f"{path}: image {key!r}: 'classes' must list one name per box ({n})."
            )
        labels = [str(label) for label in labels]
    size = image_size_from(det, (("image_w", "image_h"), ("width", "height"), ("img_width", "img_height")), f"{path}: image {key!r}")
    return boxes, labels, size


def _extent(boxes: numpy.ndarray) -> Tuple[float, float]:
    if len(boxes) == 0:
        return (1.0, 1.0)
    return (float(max(boxes[:, 2].max(), 1.0)), float(max(boxes[:, 3].max(), 1.0)))


class FeatureStores:
    """The feature stores of several splits in one folder, searched in order:
    the preferred split first. Stores are opened on first use."""

    def __init__(
        self,
        data_dir: Union[str, Path],
        splits: Optional[Sequence[str]] = None,
        *,
        feature_width: Optional[int] = None,
    ) -> None:
        self.dir = find_features_dir(data_dir)
        self.splits = list(splits) if splits is not None else available_splits(self.dir)
        self.feature_width = feature_width
        self._stores: Dict[str, RegionFeatureStore] = {}

    def store(self, split: str) -> RegionFeatureStore:
        if split not in self._stores:
            self._stores[split] = RegionFeatureStore(self.dir, split, feature_width=self.feature_width)
        return self._stores[split]

    def find(self, image_id: Any, prefer: Optional[str] = None) -> Optional[RegionFeatureStore]:
        """The store holding `image_id` (the `prefer` split first), or None."""
        order = [prefer] if prefer in self.splits else []
        order += [s for s in self.splits if s != prefer]
        for split in order:
            store = self.store(split)
            if image_id in store:
                return store
        return None

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores = {}

    def __enter__(self) -> "FeatureStores":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()
