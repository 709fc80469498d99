"""Convert unlabelled image narrations (Localized Narratives) with their region
features to a `.spacy` corpus of unlabelled docs.

Two input formats:

- flk30k_LN (the preprocessed narrations of the semi-supervised paper):
  `flk30k_LN.json` = `{"ix_to_word": {"1": word, ...}, "images": [{"id", "split",
  "width"?, "height"?}, ...]}` and `flk30k_LN_label.h5` with `labels` [n_caps,
  max_len] word ids (0 = padding), `label_start_ix` / `label_end_ix` [n_images]
  (1-based, inclusive: the caption rows of each image). Mouse traces as
  `flk30k_LN_trace_box/<id>.npy`, float [T, 5] normalised `[x1, y1, x2, y2, area]`,
  one row per word of the narration.
- Localized Narratives JSONL: one JSON object per line, `{"dataset_id",
  "image_id", "annotator_id", "caption", "timed_caption": [{"utterance",
  "start_time", "end_time"}], "traces": [[{"x", "y", "t"}, ...], ...]}` with
  normalised x, y. An utterance's trace box is the bounding box of the
  trace points while it was spoken.

Either way `doc._.trace_boxes` gets one box per token (see `traces.py`).

Regions come from the split's MAF feature files (see `features.py`).
"""
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple, Union

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..errors import DataFormatError
from ..annotation.regions import ImageRegions
from ..training.io import write_docbin
from .common import ConversionReport, image_size_from, load_json, parse_json
from .token_docs import read_text_lines
from .features import RegionFeatureStore, available_splits, find_features_dir
from .traces import boxes_on_tokens, fit_word_trace, load_word_trace, utterance_spans

# What a reader yields per narration: image id, text, image size, and the
# trace as boxes of character spans of the text (None: no trace).
Record = Tuple[str, str, Optional[Tuple[float, float]], Optional[Tuple[numpy.ndarray, List[Tuple[int, int]]]]]

LN_INFO = "flk30k_LN.json"
LN_LABELS = "flk30k_LN_label.h5"
TRACE_FOLDER = "flk30k_LN_trace_box"
JSONL_SUFFIXES = (".jsonl", ".jsonlines")


def find_ln_input(data_dir: Union[str, Path]) -> Tuple[str, List[Path]]:
    """The input format ("flk30k" or "jsonl") and its files."""
    data_dir = Path(data_dir)
    if data_dir.is_file():
        if data_dir.suffix in JSONL_SUFFIXES:
            return "jsonl", [data_dir]
        if data_dir.name == LN_INFO:
            return "flk30k", [data_dir]
        raise DataFormatError(
            f"{data_dir} is neither {LN_INFO} nor a Localized Narratives .jsonl file."
        )
    if (data_dir / LN_INFO).is_file():
        return "flk30k", [data_dir / LN_INFO]
    jsonl = sorted(p for p in data_dir.iterdir() if p.suffix in JSONL_SUFFIXES) if data_dir.is_dir() else []
    if jsonl:
        return "jsonl", jsonl
    raise DataFormatError(
        f"No narrations found in {data_dir}: expected {LN_INFO} + {LN_LABELS}, or "
        f"Localized Narratives .jsonl files."
    )


def read_flk30k(info_path: Path, split: Optional[str], report: ConversionReport) -> Iterator[Record]:
    """Yield `(image_id, text, image_size, trace)` per narration of the split;
    the trace's rows are the words of the text, joined by single spaces."""
    import h5py

    info = load_json(info_path, "flk30k_LN narrations")
    if not isinstance(info, dict) or not isinstance(info.get("ix_to_word"), dict) or not isinstance(info.get("images"), list):
        raise DataFormatError(
            f"{info_path} must be an object with 'ix_to_word' ({{id: word}}) and "
            f"'images' ([{{'id', 'split'}}, ...])."
        )
    vocab = {str(k): str(v) for k, v in info["ix_to_word"].items()}
    images = info["images"]
    labels_path = info_path.parent / LN_LABELS
    if not labels_path.is_file():
        raise DataFormatError(f"{info_path} needs {labels_path} (the word ids of the narrations), which is missing.")
    try:
        file_ = h5py.File(labels_path, "r")
    except OSError as err:
        raise DataFormatError(f"Cannot open {labels_path} as HDF5 ({err}); the file is truncated or corrupt.") from err
    with file_:
        for name in ("labels", "label_start_ix", "label_end_ix"):
            if name not in file_:
                raise DataFormatError(
                    f"{labels_path} has no dataset {name!r} (it has {sorted(file_.keys())}); "
                    f"expected 'labels', 'label_start_ix', 'label_end_ix'."
                )
        try:
            labels = file_["labels"]
            starts = numpy.asarray(file_["label_start_ix"][()], dtype="int64").reshape(-1)
            ends = numpy.asarray(file_["label_end_ix"][()], dtype="int64").reshape(-1)
        except (OSError, ValueError) as err:
            raise DataFormatError(f"Cannot read {labels_path} ({err}); the file is corrupt.") from err
        if labels.ndim != 2:
            raise DataFormatError(f"{labels_path}: 'labels' must be [n_captions, length], got shape {list(labels.shape)}.")
        if len(starts) != len(images) or len(ends) != len(images):
            raise DataFormatError(
                f"{labels_path} has {len(starts)} label_start_ix / {len(ends)} label_end_ix "
                f"entries for {len(images)} images in {info_path}; they must match."
            )
        trace_dir = info_path.parent / TRACE_FOLDER
        for i, image in enumerate(images):
            if not isinstance(image, dict) or "id" not in image:
                raise DataFormatError(f"{info_path}: images[{i}] must be an object with an 'id'.")
            if split is not None and image.get("split", split) != split:
                continue
            image_id = str(image["id"])
            start, end = int(starts[i]), int(ends[i])
            if not 1 <= start <= end <= labels.shape[0]:
                raise DataFormatError(
                    f"{labels_path}: image {image_id} (images[{i}]) has caption rows "
                    f"{start}..{end} (1-based, inclusive), outside 1..{labels.shape[0]}."
                )
            try:
                rows = numpy.asarray(labels[start - 1 : end])
            except (OSError, ValueError) as err:
                raise DataFormatError(f"Cannot read the labels of image {image_id} from {labels_path} ({err}).") from err
            size = image_size_from(image, (("width", "height"),), f"{info_path}: images[{i}]")
            trace = load_word_trace(trace_dir / f"{image_id}.npy", image_id)
            for r, row in enumerate(rows):
                words = []
                for ix in row:
                    ix = int(ix)
                    if ix == 0:
                        continue
                    if str(ix) not in vocab:
                        raise DataFormatError(
                            f"{labels_path}: caption row {start + r} (image {image_id}) has word "
                            f"id {ix}, which is not in ix_to_word of {info_path}."
                        )
                    words.append(vocab[str(ix)])
                yield image_id, " ".join(words), size, _word_trace(words, trace, report)


def _word_trace(words: List[str], trace: Optional[numpy.ndarray], report: ConversionReport) -> Any:
    """The trace rows of a narration's words with the words' character spans
    in their space-joined text (extra rows of a cut narration dropped)."""
    trace = fit_word_trace(trace, len(words), report) if trace is not None else None
    if trace is None:
        return None
    ends = numpy.cumsum([len(w) + 1 for w in words]) - 1
    return trace, [(int(e) - len(w), int(e)) for w, e in zip(words, ends)]


def read_ln_jsonl(paths: List[Path], report: ConversionReport) -> Iterator[Record]:
    """Yield `(image_id, text, None, trace)` per Localized Narratives line; the
    trace's rows are the utterances found in the caption."""
    for path in paths:
        for n, line in read_text_lines(path):
            if not line.strip():
                continue
            where = f"{path}, line {n}"
            record = parse_json(line, where, "Each line must be one narration object.")
            if not isinstance(record, dict) or "image_id" not in record or not isinstance(record.get("caption"), str):
                raise DataFormatError(
                    f"{where}: a Localized Narratives record needs 'image_id' and "
                    f"'caption' (string); it has {sorted(record) if isinstance(record, dict) else type(record).__name__}."
                )
            trace = None
            if record.get("timed_caption") and record.get("traces") is not None:
                boxes = trace_boxes_from_ln(record["timed_caption"], record["traces"], where)
                spans = utterance_spans(record["caption"], [str(u.get("utterance", "")) for u in record["timed_caption"]])
                found = [i for i, span in enumerate(spans) if span is not None]
                if len(found) < len(spans):
                    report.skip("utterances not found in the caption", len(spans) - len(found))
                trace = boxes[found], [spans[i] for i in found]
            yield str(record["image_id"]), record["caption"], None, trace


def trace_boxes_from_ln(timed_caption: Any, traces: Any, where: str) -> numpy.ndarray:
    """One normalised `[x1, y1, x2, y2, area]` box per utterance: the extent of
    the mouse trace while it was spoken (zeros when the trace has no point then)."""
    try:
        points = numpy.asarray(
            [[float(p["x"]), float(p["y"]), float(p["t"])] for segment in traces for p in segment],
            dtype="float64",
        ).reshape((-1, 3))
        spans = [(float(u["start_time"]), float(u["end_time"])) for u in timed_caption]
    except (TypeError, KeyError, ValueError) as err:
        raise DataFormatError(
            f"{where}: 'traces' must be lists of {{x, y, t}} points and 'timed_caption' a "
            f"list of {{utterance, start_time, end_time}} ({err!r})."
        ) from err
    out = numpy.zeros((len(spans), 5), dtype="float32")
    for i, (start, end) in enumerate(spans):
        sel = points[(points[:, 2] >= start) & (points[:, 2] <= end)]
        if len(sel) == 0:
            continue
        x1, y1 = numpy.clip(sel[:, 0].min(), 0, 1), numpy.clip(sel[:, 1].min(), 0, 1)
        x2, y2 = numpy.clip(sel[:, 0].max(), 0, 1), numpy.clip(sel[:, 1].max(), 0, 1)
        out[i] = [x1, y1, x2, y2, (x2 - x1) * (y2 - y1)]
    return out


def read_ln(
    data_dir: Union[str, Path],
    *,
    split: str = "train",
    limit: Optional[int] = None,
    lang: str = "en",
    use_features: bool = True,
    feature_width: Optional[int] = None,
    features_dir: Optional[Union[str, Path]] = None,
    strict: bool = False,
    nlp: Optional[Language] = None,
) -> Tuple[List[Doc], ConversionReport]:
    """Unlabelled docs with `image_regions` (and `trace_boxes` when present)."""
    data_dir = Path(data_dir)
    kind, paths = find_ln_input(data_dir)
    report = ConversionReport(f"convert-ln {split} ({kind})")
    nlp = nlp or spacy.blank(lang)
    store = None
    if use_features:
        root = Path(features_dir) if features_dir is not None else (data_dir if data_dir.is_dir() else data_dir.parent)
        feat_dir = find_features_dir(root)
        if split not in available_splits(feat_dir):
            raise DataFormatError(
                f"No region features for split {split!r} in {feat_dir} (found "
                f"{available_splits(feat_dir) or 'none'}). Place "
                f"faster_rcnn_image_features/{split}_features_compress.hdf5 (with its "
                f"_imgid2idx.pkl and _detection_dict.json) there, pass --features-dir, "
                f"or convert without regions (--no-features)."
            )
        store = RegionFeatureStore(feat_dir, split, feature_width=feature_width)
    records = read_flk30k(paths[0], split, report) if kind == "flk30k" else read_ln_jsonl(paths, report)
    docs: List[Doc] = []
    try:
        for image_id, text, size, trace in records:
            if limit is not None and len(docs) >= limit:
                break
            if not text.strip():
                report.skip("empty narrations")
                continue
            regions: Optional[ImageRegions] = None
            if store is not None:
                if image_id not in store:
                    if strict:
                        raise DataFormatError(
                            f"Image {image_id} has no region features in {store.path} (--strict). "
                            f"Add its features, or drop --strict to skip and report such narrations."
                        )
                    report.skip("narrations whose image has no region features")
                    continue
                if size is None:
                    report.keep("image sizes taken from the detections")
                regions = store.get(image_id, image_size=size)
                report.keep("regions", len(regions))
            doc = nlp.make_doc(text)
            doc._.image_regions = regions
            if trace is not None:
                doc._.trace_boxes = boxes_on_tokens(doc, trace[1], trace[0])
                report.keep("docs with trace boxes")
            docs.append(doc)
            report.keep("docs")
            report.keep("tokens", len(doc))
    finally:
        if store is not None:
            store.close()
    return docs, report


def convert_ln(
    data_dir: Union[str, Path],
    output_path: Union[str, Path],
    **kwargs: Any,
) -> ConversionReport:
    """Convert narrations to one `.spacy` file, written atomically after every
    narration was read (on an error nothing is written). Keyword arguments as
    for `read_ln`."""
    docs, report = read_ln(data_dir, **kwargs)
    write_docbin(docs, output_path)
    return report
