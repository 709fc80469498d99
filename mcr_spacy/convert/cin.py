"""Convert the CIN annotations (Coreferenced Image Narratives) with their MAF
region features to `.spacy` corpora.

`cin_annotations/testval_annotations.json` is a JSON list of records:
`{"image": Flickr30k id, "captions": narration, "split": "val" | "test",
"img_width", "img_height", "query": [mention strings], "query_start_end":
[[start, end), ...] character offsets into "captions", "cluster": [chain id per
mention], "target_bboxes": [[[x, y, w, h], ...] per mention]}`, boxes in percent
of the image width and height. `val_image_ids.json` / `test_image_ids.json`
list the ids of each split (used when a record has no "split").

Each record becomes a doc: gold chains in `doc.spans["{span_cluster_prefix}_{i}"]`
(singletons included), every gold mention in `doc.spans[mentions_key]` with
`span._.grounding = {"boxes": [[x1, y1, x2, y2], ...]}` in pixels, and the
image's detected regions in `doc._.image_regions`.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY
from ..errors import AlignmentError, DataFormatError
from ..annotation.gold import annotate_gold, set_mentions
from ..annotation.regions import ImageRegions
from ..training.io import write_docbins
from .common import ConversionReport, load_json, normalize_image_id
from .features import FeatureStores, available_splits, find_features_dir

ANNOTATIONS_FOLDER = "cin_annotations"
ANNOTATIONS_FILE = "testval_annotations.json"
REQUIRED_FIELDS = ("image", "captions", "img_width", "img_height", "query_start_end", "cluster", "target_bboxes")
# How many examples of each skip reason the report shows.
MAX_EXAMPLES = 5


def find_annotations(data_dir: Union[str, Path]) -> Path:
    """`testval_annotations.json` in `data_dir/cin_annotations/` or `data_dir`
    (or `data_dir` itself when it is the file)."""
    data_dir = Path(data_dir)
    if data_dir.is_file():
        return data_dir
    for candidate in (data_dir / ANNOTATIONS_FOLDER / ANNOTATIONS_FILE, data_dir / ANNOTATIONS_FILE):
        if candidate.is_file():
            return candidate
    raise DataFormatError(
        f"No CIN annotations found: neither {data_dir / ANNOTATIONS_FOLDER / ANNOTATIONS_FILE} "
        f"nor {data_dir / ANNOTATIONS_FILE} exists. Place the CIN release's "
        f"{ANNOTATIONS_FOLDER}/ folder in {data_dir}."
    )


def load_records(path: Union[str, Path]) -> List[Dict[str, Any]]:
    """Read and check the annotation records; raises DataFormatError naming the
    first bad record."""
    path = Path(path)
    data = load_json(path, "CIN annotations")
    if not isinstance(data, list):
        raise DataFormatError(
            f"{path} must hold a JSON list of records, not a {type(data).__name__}."
        )
    for i, record in enumerate(data):
        check_record(record, i, path)
    return data


def check_record(record: Any, i: int, path: Any) -> None:
    """Check one record's structure; raises DataFormatError naming the record."""
    if not isinstance(record, dict):
        raise DataFormatError(f"{path}: record {i} is a {type(record).__name__}, not an object.")
    where = f"{path}: record {i} (image {record.get('image')!r})"
    missing = [key for key in REQUIRED_FIELDS if key not in record]
    if missing:
        raise DataFormatError(
            f"{where} lacks the field(s) {missing}. CIN records need {list(REQUIRED_FIELDS)}."
        )
    if not isinstance(record["captions"], str):
        raise DataFormatError(f"{where}: 'captions' must be the narration string.")
    for key in ("img_width", "img_height"):
        value = record[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not numpy.isfinite(value) or value <= 0:
            raise DataFormatError(f"{where}: '{key}' must be a positive number, got {value!r}.")
    n = len(record["query_start_end"]) if isinstance(record["query_start_end"], list) else -1
    lengths = {"query_start_end": n}
    for key in ("cluster", "target_bboxes") + (("query",) if "query" in record else ()):
        lengths[key] = len(record[key]) if isinstance(record[key], list) else -1
    if n < 0 or len(set(lengths.values())) != 1:
        raise DataFormatError(
            f"{where}: 'query_start_end', 'cluster', 'target_bboxes' (and 'query') must "
            f"be lists with one entry per mention; their lengths are {lengths}."
        )
    text_len = len(record["captions"])
    for j, offsets in enumerate(record["query_start_end"]):
        if (
            not isinstance(offsets, (list, tuple))
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] < offsets[1] <= text_len
        ):
            raise DataFormatError(
                f"{where}: mention {j} has offsets {offsets!r}; expected [start, end) "
                f"character offsets with 0 <= start < end <= {text_len} (the length of "
                f"'captions')."
            )
    for j, chain in enumerate(record["cluster"]):
        if not isinstance(chain, (int, str)) or isinstance(chain, bool):
            raise DataFormatError(
                f"{where}: mention {j} has chain id {chain!r}; chain ids are ints or strings."
            )
    for j, boxes in enumerate(record["target_bboxes"]):
        if boxes is None:
            continue
        if not isinstance(boxes, list):
            raise DataFormatError(
                f"{where}: 'target_bboxes' of mention {j} must be a list of [x, y, w, h] boxes."
            )
        for box in mention_boxes(boxes):
            if (
                not isinstance(box, (list, tuple))
                or len(box) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)
                or not all(numpy.isfinite(v) for v in box)
            ):
                raise DataFormatError(
                    f"{where}: mention {j} has the box {box!r}; boxes are [x, y, w, h] in "
                    f"percent of the image size (four finite numbers)."
                )


def mention_boxes(value: Any) -> List[Any]:
    """A mention's boxes: a list of `[x, y, w, h]`, also accepting one bare box."""
    if value is None:
        return []
    if len(value) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [value]
    return list(value)


def load_split_ids(annotations_path: Path) -> Dict[str, str]:
    """Image id -> split from `val_image_ids.json` / `test_image_ids.json` next
    to the annotations (empty when absent)."""
    out: Dict[str, str] = {}
    for path in sorted(annotations_path.parent.glob("*_image_ids.json")):
        split = path.name[: -len("_image_ids.json")]
        ids = load_json(path, f"{split} image ids")
        if not isinstance(ids, list):
            raise DataFormatError(f"{path} must hold a JSON list of image ids.")
        for image_id in ids:
            out[normalize_image_id(image_id)] = split
    return out


def percent_to_pixels(box: Sequence[float], width: float, height: float) -> List[float]:
    """A CIN `[x, y, w, h]` box in percent to `[x1, y1, x2, y2]` in pixels."""
    x, y, w, h = (float(v) for v in box)
    return [x * width / 100.0, y * height / 100.0, (x + w) * width / 100.0, (y + h) * height / 100.0]


def align_mention(doc: Doc, start: int, end: int) -> Optional[Span]:
    """The span at `[start, end)`, or at offsets that differ from them only by
    whitespace (snapping with `alignment_mode` "contract"/"expand" is accepted
    only when it changes nothing but whitespace); None when it does not align."""
    span = doc.char_span(start, end)
    if span is not None:
        return span
    text = doc.text[start:end]
    stripped = text.strip()
    if not stripped:
        return None
    s2 = start + (len(text) - len(text.lstrip()))
    e2 = s2 + len(stripped)
    span = doc.char_span(s2, e2)
    if span is not None:
        return span
    for mode in ("contract", "expand"):
        span = doc.char_span(start, end, alignment_mode=mode)
        if span is not None and len(span) and span.text.strip() == stripped:
            return span
    return None


class _Problems:
    """Skips with examples, or an error in strict mode."""

    def __init__(self, report: ConversionReport, strict: bool) -> None:
        self.report = report
        self.strict = strict
        self.examples: Dict[str, List[str]] = {}

    def skip(self, reason: str, detail: str, error: type = AlignmentError) -> None:
        if self.strict:
            raise error(f"{detail} (--strict: fix the record or convert without --strict to skip and report it).")
        self.report.skip(reason)
        examples = self.examples.setdefault(reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(detail)


def record_to_doc(
    nlp: Language,
    record: Dict[str, Any],
    regions: Optional[ImageRegions],
    problems: _Problems,
    *,
    where: str,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = GOLD_MENTIONS_KEY,
) -> Doc:
    """One CIN record (already checked by `check_record`) as an annotated doc."""
    report = problems.report
    text = record["captions"]
    doc = nlp.make_doc(text)
    width, height = float(record["img_width"]), float(record["img_height"])
    chains: Dict[Any, List[Tuple[int, int]]] = {}
    boxes: Dict[Tuple[int, int], List[List[float]]] = {}
    owner: Dict[Tuple[int, int], Any] = {}
    queries = record.get("query")
    for j, (start, end) in enumerate(record["query_start_end"]):
        chain = record["cluster"][j]
        mention_where = f"{where}, mention {j} {text[start:end]!r} at [{start}, {end})"
        if queries is not None and isinstance(queries[j], str):
            if " ".join(queries[j].split()) != " ".join(text[start:end].split()):
                problems.skip(
                    "mention text differs from the narration at its offsets",
                    f"{mention_where}: 'query' says {queries[j]!r}",
                    DataFormatError,
                )
                continue
        span = align_mention(doc, start, end)
        if span is None:
            tokens = [t.text for t in (doc.char_span(start, end, alignment_mode="expand") or [])]
            problems.skip(
                "mention offsets do not align with tokens",
                f"{mention_where} does not align with the tokens {tokens}",
            )
            continue
        key = (span.start_char, span.end_char)
        if (key[0], key[1]) != (start, end):
            report.keep("mentions aligned after trimming whitespace")
        kept_boxes = []
        for box in mention_boxes(record["target_bboxes"][j]):
            px = percent_to_pixels(box, width, height)
            clipped = [
                min(max(px[0], 0.0), width), min(max(px[1], 0.0), height),
                min(max(px[2], 0.0), width), min(max(px[3], 0.0), height),
            ]
            if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
                problems.skip(
                    "empty or inverted gold box",
                    f"{mention_where}: box {box} (percent x, y, w, h) is empty inside the image",
                    DataFormatError,
                )
                continue
            if clipped != px:
                report.keep("gold boxes clipped to the image")
            kept_boxes.append(clipped)
        if key in owner:
            if owner[key] != chain:
                problems.skip(
                    "mention in two chains",
                    f"{mention_where} is in chains {owner[key]!r} and {chain!r}",
                )
                continue
            report.keep("duplicate mentions merged")
            for box in kept_boxes:
                if box not in boxes[key]:
                    boxes[key].append(box)
            continue
        owner[key] = chain
        chains.setdefault(chain, []).append(key)
        boxes[key] = kept_boxes
    clusters = list(chains.values())
    annotate_gold(doc, clusters, boxes, span_cluster_prefix=span_cluster_prefix)
    set_mentions(doc, [m for cluster in clusters for m in cluster], mentions_key)
    doc._.image_regions = regions
    report.keep("docs")
    report.keep("mentions", len(owner))
    report.keep("clusters", len(clusters))
    report.keep("singleton clusters", sum(1 for c in clusters if len(c) == 1))
    report.keep("gold boxes", sum(len(b) for b in boxes.values()))
    report.keep("mentions without gold box", sum(1 for b in boxes.values() if not b))
    if regions is not None:
        report.keep("regions", len(regions))
    return doc


def convert_cin(data_dir: Union[str, Path], out_dir: Union[str, Path], **options: Any) -> Dict[str, ConversionReport]:
    """Convert CIN annotations (and region features) to `{split}.spacy` files in
    `out_dir`; `options` are the keyword arguments of `read_cin`. Every split is
    converted before anything is written, so an error leaves no partial
    output. Returns one report per split."""
    docs_by_split, reports = read_cin(data_dir, **options)
    out_dir = Path(out_dir)
    write_docbins({out_dir / f"{split}.spacy": docs for split, docs in docs_by_split.items()})
    return reports


def read_cin(
    data_dir: Union[str, Path],
    *,
    splits: Sequence[str] = ("val", "test"),
    lang: str = "en",
    strict: bool = False,
    use_features: bool = True,
    feature_width: Optional[int] = None,
    allow_missing_regions: bool = False,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = GOLD_MENTIONS_KEY,
) -> Tuple[Dict[str, List[Doc]], Dict[str, ConversionReport]]:
    """The docs of each requested split, and a report per split."""
    data_dir = Path(data_dir)
    path = find_annotations(data_dir)
    records = load_records(path)
    split_ids = load_split_ids(path)
    nlp = spacy.blank(lang)
    by_split: Dict[str, List[Tuple[int, Dict[str, Any]]]] = {}
    for i, record in enumerate(records):
        split = record.get("split") or split_ids.get(normalize_image_id(record["image"]))
        by_split.setdefault(str(split), []).append((i, record))
    for split in splits:
        if not by_split.get(split):
            raise DataFormatError(
                f"{path} has no records of split {split!r} (splits found: "
                f"{sorted(s for s in by_split if s != 'None')}). Choose splits with --splits."
            )
    stores = None
    if use_features:
        feat_root = data_dir if data_dir.is_dir() else path.parent.parent
        feat_dir = find_features_dir(feat_root)
        if not available_splits(feat_dir):
            raise DataFormatError(
                f"No region features in {feat_dir} (expected "
                f"faster_rcnn_image_features/{{split}}_features_compress.hdf5 with its "
                f"_imgid2idx.pkl and _detection_dict.json). Place the features there, or "
                f"convert without regions (--no-features)."
            )
        stores = FeatureStores(feat_dir, feature_width=feature_width)
    docs_by_split: Dict[str, List[Doc]] = {}
    reports: Dict[str, ConversionReport] = {}
    try:
        for split in splits:
            report = ConversionReport(f"convert-cin {split}")
            problems = _Problems(report, strict)
            docs = []
            for i, record in by_split[split]:
                image_id = normalize_image_id(record["image"])
                where = f"{path.name} record {i} (image {image_id})"
                regions = None
                if stores is not None:
                    store = stores.find(image_id, prefer=split)
                    if store is None:
                        if not allow_missing_regions:
                            raise DataFormatError(
                                f"{where}: image {image_id} has no region features in "
                                f"{stores.dir} (splits {stores.splits}). Add its features, "
                                f"or pass --allow-missing-regions to keep it as a text-only doc."
                            )
                        report.skip("images without region features (kept as text-only docs)")
                    else:
                        regions = store.get(
                            image_id, image_size=(float(record["img_width"]), float(record["img_height"]))
                        )
                docs.append(
                    record_to_doc(nlp, record, regions, problems, where=where, span_cluster_prefix=span_cluster_prefix, mentions_key=mentions_key)
                )
            report.examples = problems.examples  # type: ignore[attr-defined]
            docs_by_split[split] = docs
            reports[split] = report
    finally:
        if stores is not None:
            stores.close()
    return docs_by_split, reports


def print_examples(report: ConversionReport) -> None:
    """Print the example records behind each skip reason of a report."""
    from wasabi import msg

    for reason, examples in getattr(report, "examples", {}).items():
        msg.warn(f"{reason}: {report.skipped[reason]} (first {len(examples)} shown)")
        for example in examples:
            msg.text(f"  {example}")
