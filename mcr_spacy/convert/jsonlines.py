"""Convert e2e-coref `jsonlines` files (one document per line) to `.spacy`.

Each line is a JSON object with `sentences` (a list of sentences, each a list
of tokens), `clusters` (a list of clusters, each a list of `[start, end]`
token spans, both ends inclusive, counted over the flattened document) and
optionally `doc_key`. Records may carry image fields: `object_detection` (COCO
class ids 1-90 of the objects detected in the image, as in VisPro, or class
names), `image_file` or `image_id`, and `img_width`/`img_height`.

Subword files (as prepared for SpanBERT-style models: `sentences` of
wordpieces with `[CLS]`/`[SEP]`, plus `subtoken_map` and `sentence_map`) are
merged back into words, and their clusters mapped onto the words.

Detected objects without boxes become label-only regions: one region per
detection, labelled with its COCO class name, whose box is the whole image.
Without a known size the image has the nominal size `NOMINAL_IMAGE_SIZE`
(1 x 1), so every region's box is `[0, 0, 1, 1]`; normalised boxes are the
same whatever the size.
"""
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY
from ..errors import DataFormatError, RegionsError
from ..annotation.regions import ImageRegions
from .common import ConversionReport, convert_file, parse_json
from .features import FeatureStores
from .token_docs import doc_from_token_clusters, read_text_lines

NOMINAL_IMAGE_SIZE = (1.0, 1.0)

# The 80 COCO object classes under their official category ids (1-90, with gaps).
COCO_CLASSES: Dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus",
    7: "train", 8: "truck", 9: "boat", 10: "traffic light", 11: "fire hydrant",
    13: "stop sign", 14: "parking meter", 15: "bench", 16: "bird", 17: "cat",
    18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear",
    24: "zebra", 25: "giraffe", 27: "backpack", 28: "umbrella", 31: "handbag",
    32: "tie", 33: "suitcase", 34: "frisbee", 35: "skis", 36: "snowboard",
    37: "sports ball", 38: "kite", 39: "baseball bat", 40: "baseball glove",
    41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle",
    46: "wine glass", 47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl",
    52: "banana", 53: "apple", 54: "sandwich", 55: "orange", 56: "broccoli",
    57: "carrot", 58: "hot dog", 59: "pizza", 60: "donut", 61: "cake", 62: "chair",
    63: "couch", 64: "potted plant", 65: "bed", 67: "dining table", 70: "toilet",
    72: "tv", 73: "laptop", 74: "mouse", 75: "remote", 76: "keyboard",
    77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster", 81: "sink",
    82: "refrigerator", 84: "book", 85: "clock", 86: "vase", 87: "scissors",
    88: "teddy bear", 89: "hair drier", 90: "toothbrush",
}

# Fields read by the converter; any other field is counted as not converted.
KNOWN_FIELDS = (
    "doc_key", "sentences", "clusters", "object_detection", "image_file",
    "image_id", "img_width", "img_height", "subtoken_map", "sentence_map",
    "speakers", "pronoun_info",
)
# Special tokens of subword files (BERT, RoBERTa), dropped when merging.
SPECIAL_TOKENS = ("[CLS]", "[SEP]", "<s>", "</s>")
# Markers of subword pieces, stripped when merging: continuation ("##") or word start.
PIECE_MARKERS = ("##", "\u0120", "\u2581")


def convert_jsonlines(input_path: Union[str, Path], output_path: Union[str, Path], **options: Any) -> ConversionReport:
    """Convert a jsonlines file to a `.spacy` file (written atomically: on an
    error nothing is written). `options`: `lang` (of the blank vocab) and the
    keyword arguments of `read_jsonlines`. Returns the report of what was kept
    and skipped."""
    return convert_file(read_jsonlines, "convert-jsonlines", input_path, output_path, **options)


def read_jsonlines(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    report: Optional[ConversionReport] = None,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = GOLD_MENTIONS_KEY,
    regions_dir: Optional[Union[str, Path]] = None,
) -> Iterator[Doc]:
    """Yield one Doc per record of a jsonlines file, with gold clusters in
    `doc.spans["{span_cluster_prefix}_{i}"]`, gold mentions in `doc.spans[mentions_key]`,
    the record's `doc_key` in `doc.user_data["doc_key"]` and label-only
    `doc._.image_regions` when the record has detected objects, or, with
    `regions_dir` (files written by `extract-regions`), the regions of the
    record's `image_file`."""
    path = Path(path)
    if report is None:
        report = ConversionReport(f"jsonlines {path.name}")
    if not path.is_file():
        raise DataFormatError(
            f"jsonlines input {str(path)!r} does not exist or is not a file. "
            f"Give the path of an e2e-coref .jsonlines file."
        )
    stores = None if regions_dir is None else FeatureStores(regions_dir)  # read-only; closed at the end
    for line_no, line in read_text_lines(path):
        if not line.strip():
            continue
        where = f"{path}, line {line_no}"
        record = parse_json(line, where, "Each line must be one complete JSON object.")
        yield record_to_doc(
            record, vocab, where=where, report=report, span_cluster_prefix=span_cluster_prefix, mentions_key=mentions_key,
            region_stores=stores,
        )
    if stores is not None:
        stores.close()


def record_to_doc(
    record: Any,
    vocab: Vocab,
    *,
    where: str,
    report: ConversionReport,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = GOLD_MENTIONS_KEY,
    region_stores: Optional[FeatureStores] = None,
) -> Doc:
    """Convert one e2e-coref record (a dict) to a Doc. `where` names the record
    in error messages; `region_stores` hold extracted regions by image id."""
    if not isinstance(record, dict):
        raise DataFormatError(
            f"{where}: expected a JSON object with 'sentences' and 'clusters', "
            f"got {type(record).__name__}."
        )
    doc_key = record.get("doc_key")
    if doc_key is not None:
        doc_key = str(doc_key)
        where = f"{where} (doc_key {doc_key!r})"
    else:
        report.skip("record without doc_key (converted, no key stored)")
    sentences = record.get("sentences")
    if not isinstance(sentences, list) or not all(isinstance(s, list) for s in sentences):
        raise DataFormatError(
            f"{where}: 'sentences' must be a list of sentences, each a list of "
            f"token strings; got {_short(sentences)}."
        )
    n_tokens = sum(len(s) for s in sentences)
    clusters = _read_clusters(record.get("clusters", None), n_tokens, where)
    if clusters is None:
        report.skip("record without 'clusters' (converted as an unlabelled doc)")
    subwords = record.get("subtoken_map") is not None
    if subwords:
        sentences, clusters = _merge_subtokens(record, sentences, clusters, where)
        report.keep("records with subword tokens merged into words")
    doc = doc_from_token_clusters(
        vocab, sentences, clusters, doc_key=doc_key, where=where, report=report,
        span_cluster_prefix=span_cluster_prefix, mentions_key=mentions_key,
    )
    if region_stores is not None:
        doc._.image_regions = _stored_regions(record, region_stores, where, report)
    else:
        doc._.image_regions = _read_regions(record, where, report)
    if subwords and record.get("speakers") is not None:
        report.skip("speakers of a subword record (not merged into words)")
    elif record.get("speakers") is not None:
        doc._.speakers = _read_speakers(record["speakers"], sentences, where)
        report.keep("records with speakers")
    if isinstance(record.get("pronoun_info"), list):
        doc._.pronoun_info = record["pronoun_info"]
        report.keep("pronouns with VisPro annotation", len(record["pronoun_info"]))
    for field in record:
        if field not in KNOWN_FIELDS:
            report.skip(f"field {field!r} not converted")
    return doc


def _read_speakers(value: Any, sentences: List[List[str]], where: str) -> Optional[List[str]]:
    """The speaker of each token, from `speakers` in the shape of `sentences`
    (a list per sentence, one name per token); None when absent."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != len(sentences)
        or any(not isinstance(names, list) or len(names) != len(words) for names, words in zip(value, sentences))
    ):
        raise DataFormatError(
            f"{where}: 'speakers' must have the shape of 'sentences' (a list per "
            f"sentence, one speaker name per token); got {_short(value)}."
        )
    return [str(name) for names in value for name in names]


def _read_clusters(value: Any, n_tokens: int, where: str) -> Optional[List[List[Tuple[int, int]]]]:
    """Inclusive `[start, end]` spans -> `(start, end)` with end exclusive;
    None when the record has no `clusters` field (an unlabelled document)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise DataFormatError(
            f"{where}: 'clusters' must be a list of clusters, each a list of "
            f"[start, end] token spans; got {_short(value)}."
        )
    clusters = []
    for c, cluster in enumerate(value):
        if not isinstance(cluster, list):
            raise DataFormatError(
                f"{where}: cluster {c} must be a list of [start, end] token spans; "
                f"got {_short(cluster)}."
            )
        spans = []
        for mention in cluster:
            if (
                not isinstance(mention, (list, tuple))
                or len(mention) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in mention)
            ):
                raise DataFormatError(
                    f"{where}: cluster {c} has mention {_short(mention)}; a mention "
                    f"is [start, end], two integer token indices, both inclusive."
                )
            start, end = mention
            if not (0 <= start <= end < n_tokens):
                raise DataFormatError(
                    f"{where}: cluster {c} has mention [{start}, {end}] outside the "
                    f"document's {n_tokens} tokens (indices are inclusive, counted "
                    f"from 0 over all sentences, and start <= end)."
                )
            spans.append((start, end + 1))
        clusters.append(spans)
    return clusters


def _merge_subtokens(
    record: Dict[str, Any],
    segments: List[List[str]],
    clusters: Optional[List[List[Tuple[int, int]]]],
    where: str,
) -> Tuple[List[List[str]], Optional[List[List[Tuple[int, int]]]]]:
    """Subword files (as made for SpanBERT-style models) have `sentences` of
    subword pieces, `subtoken_map` (the word of each piece) and optionally
    `sentence_map` (the sentence of each piece). Merge the pieces back into
    words, drop special tokens, and map the clusters onto the words."""
    pieces = [piece for segment in segments for piece in segment]
    word_of = record["subtoken_map"]
    sentence_of = record.get("sentence_map")
    for name, values in (("subtoken_map", word_of), ("sentence_map", sentence_of)):
        if values is None:
            continue
        if (
            not isinstance(values, list)
            or len(values) != len(pieces)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        ):
            raise DataFormatError(
                f"{where}: '{name}' must be a list of {len(pieces)} integers, one per "
                f"subword token of 'sentences'; got {_short(values)}."
            )
    words: List[str] = []
    word_sentence: List[int] = []
    index_of_word: Dict[int, int] = {}
    for i, piece in enumerate(pieces):
        if piece in SPECIAL_TOKENS:
            continue
        text = piece
        for marker in PIECE_MARKERS:
            if text.startswith(marker) and len(text) > len(marker):
                text = text[len(marker):]
                break
        if word_of[i] in index_of_word:
            if index_of_word[word_of[i]] != len(words) - 1:
                raise DataFormatError(
                    f"{where}: subtoken_map puts token {i} ({piece!r}) in word "
                    f"{word_of[i]}, which is not the word being built. Pieces of a "
                    f"word must be adjacent."
                )
            words[-1] += text
        else:
            index_of_word[word_of[i]] = len(words)
            words.append(text)
            word_sentence.append(sentence_of[i] if sentence_of is not None else 0)
    sentences: List[List[str]] = []
    for k, word in enumerate(words):
        if k == 0 or word_sentence[k] != word_sentence[k - 1]:
            sentences.append([])
        sentences[-1].append(word)
    if clusters is None:
        return sentences, None
    merged = []
    for c, cluster in enumerate(clusters):
        spans = []
        for start, end in cluster:
            first, last = pieces[start], pieces[end - 1]
            if first in SPECIAL_TOKENS or last in SPECIAL_TOKENS:
                raise DataFormatError(
                    f"{where}: cluster {c} has mention [{start}, {end - 1}] on a "
                    f"special token ({first!r} ... {last!r}); mentions must cover words."
                )
            spans.append((index_of_word[word_of[start]], index_of_word[word_of[end - 1]] + 1))
        merged.append(spans)
    return sentences, merged


def _read_regions(record: Dict[str, Any], where: str, report: ConversionReport) -> Optional[ImageRegions]:
    """Label-only regions from `object_detection`, or None without it."""
    detections = record.get("object_detection")
    if detections is None:
        return None
    if not isinstance(detections, list):
        raise DataFormatError(
            f"{where}: 'object_detection' must be a list of COCO class ids or "
            f"class names; got {_short(detections)}."
        )
    image_id = _image_id(record)
    image_size = _image_size(record, where)
    labels = []
    for value in detections:
        if isinstance(value, str) and value:
            labels.append(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if value in COCO_CLASSES:
                labels.append(COCO_CLASSES[value])
            else:
                report.skip(f"detection with unknown COCO class id {value}")
        else:
            raise DataFormatError(
                f"{where}: 'object_detection' holds {value!r}; expected COCO class "
                f"ids (1-90) or class names."
            )
    width, height = image_size
    boxes = [[0.0, 0.0, width, height] for _ in labels]
    try:
        regions = ImageRegions(boxes, labels=labels, image_size=image_size, image_id=image_id)
    except RegionsError as err:
        raise DataFormatError(f"{where}: {err}") from None
    report.keep("docs with image regions")
    report.keep("regions (label only, whole-image boxes)", len(regions))
    return regions


def _stored_regions(record: Dict[str, Any], stores: FeatureStores, where: str, report: ConversionReport) -> ImageRegions:
    """The extracted regions of the record's image (by `image_file` or `image_id`)."""
    image_id = _image_id(record)
    store = None if image_id is None else stores.find(image_id)
    if store is None:
        raise DataFormatError(
            f"{where}: image {image_id!r} has no regions in {stores.dir} (splits "
            f"{stores.splits}). Run extract-regions on the folder that holds it, or "
            f"convert without --regions for label-only regions."
        )
    report.keep("docs with extracted regions")
    return store.get(image_id)


def _image_id(record: Dict[str, Any]) -> Optional[str]:
    image_file = record.get("image_file")
    if image_file:
        return Path(str(image_file)).stem
    image_id = record.get("image_id")
    return None if image_id is None else str(image_id)


def _image_size(record: Dict[str, Any], where: str) -> Tuple[float, float]:
    width, height = record.get("img_width"), record.get("img_height")
    if width is None and height is None:
        return NOMINAL_IMAGE_SIZE
    try:
        size = (float(width), float(height))
    except (TypeError, ValueError):
        size = (0.0, 0.0)
    if not (size[0] > 0 and size[1] > 0):
        raise DataFormatError(
            f"{where}: img_width and img_height must both be positive numbers; "
            f"got {width!r} and {height!r}."
        )
    return size


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
