"""Writers of the data set's files in the real formats: CIN annotations, MAF
region features (HDF5, pickle, JSON), flk30k_LN narrations with per-word
trace boxes, gold scorch JSON and the phenomena file."""
import io
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy

from ..convert.traces import ln_words
from ..training.io import write_bytes_atomic
from .scene import Scene

def trace_boxes(
    rng: numpy.random.Generator, scene: Scene, words: List[Tuple[str, int, int]],
    noise: float = 0.05, lag: float = 1.0,
) -> numpy.ndarray:
    """One normalised `[x1, y1, x2, y2, area]` box per word: the box of the
    thing being named while the word is spoken, else a pointer drifting from
    the last thing named, each corner jittered by `noise` (a fraction of the
    image). The narrator points early or late: the whole trace is shifted by
    a whole number of words drawn from -lag..lag (rounded) per narration."""
    n = len(words)
    pointer = numpy.zeros((n, 4), dtype="float64")
    W, H = float(scene.width), float(scene.height)
    current = numpy.asarray([0.4, 0.4, 0.6, 0.6])
    for i, (_, start, end) in enumerate(words):
        target = None
        for mention in scene.mentions:
            if mention.start <= start and end <= mention.end:
                boxes = scene.entities[mention.eid].boxes
                if boxes:
                    b = numpy.asarray(boxes, dtype="float64")
                    target = numpy.asarray([b[:, 0].min() / W, b[:, 1].min() / H, b[:, 2].max() / W, b[:, 3].max() / H])
                break
        if target is not None:
            current = target
        else:
            current = current + rng.normal(scale=0.03, size=4)
        pointer[i] = current + rng.normal(scale=noise, size=4) if noise > 0 else current
    max_shift = int(round(lag))
    shift = int(rng.integers(-max_shift, max_shift + 1)) if max_shift else 0
    if shift and n:
        # Late pointer (shift > 0): word i shows where word i - shift was named.
        index = numpy.clip(numpy.arange(n) - shift, 0, n - 1)
        pointer = pointer[index]
    out = numpy.zeros((n, 5), dtype="float32")
    box = numpy.clip(pointer, 0.0, 1.0)
    x1, x2 = numpy.minimum(box[:, 0], box[:, 2]), numpy.maximum(box[:, 0], box[:, 2])
    y1, y2 = numpy.minimum(box[:, 1], box[:, 3]), numpy.maximum(box[:, 1], box[:, 3])
    out[:] = numpy.stack([x1, y1, x2, y2, (x2 - x1) * (y2 - y1)], axis=1)
    return out


def write_traces(
    out_dir: Path, scenes: Sequence[Scene], rng: numpy.random.Generator, noise: float = 0.05, lag: float = 1.0
) -> None:
    """Write each scene's per-word trace boxes as `flk30k_LN_trace_box/<id>.npy`."""
    (out_dir / "flk30k_LN_trace_box").mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        trace = trace_boxes(rng, scene, ln_words(scene.text), noise, lag)
        buf = io.BytesIO()
        numpy.save(buf, trace)
        write_bytes_atomic(buf.getvalue(), out_dir / "flk30k_LN_trace_box" / f"{scene.image_id}.npy")


def _write_h5_atomic(path: Path, fill: Any) -> None:
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    os.close(fd)
    try:
        with h5py.File(tmp, "w", track_order=False) as file_:
            fill(file_)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf8")


def write_features(out_dir: Path, split: str, scenes: Sequence[Scene], width: int) -> None:
    """Write one split's region files in the MAF format."""
    total = sum(len(s.boxes) for s in scenes)
    pos = numpy.zeros((len(scenes), 2), dtype="int64")
    feats = numpy.zeros((total, width), dtype="float32")
    boxes = numpy.zeros((total, 4), dtype="float32")
    row = 0
    for i, scene in enumerate(scenes):
        n = len(scene.boxes)
        pos[i] = (row, row + n)
        feats[row : row + n] = scene.features
        boxes[row : row + n] = scene.boxes
        row += n

    def fill(file_: Any) -> None:
        chunk = (max(1, min(64, total)), width)
        file_.create_dataset("features", data=feats, chunks=chunk if total else None, compression="gzip" if total else None, compression_opts=1 if total else None, shuffle=bool(total), track_times=False)
        file_.create_dataset("pos_bboxes", data=pos, track_times=False)
        file_.create_dataset("bboxes", data=boxes, track_times=False)

    _write_h5_atomic(out_dir / f"{split}_features_compress.hdf5", fill)
    imgid2idx = {int(s.image_id): i for i, s in enumerate(scenes)}
    write_bytes_atomic(pickle.dumps(imgid2idx, protocol=4), out_dir / f"{split}_imgid2idx.pkl")
    detections = {
        s.image_id: {"bboxes": s.boxes.round(2).tolist(), "classes": list(s.labels), "attrs": list(s.attrs)}
        for s in scenes
    }
    write_bytes_atomic(_json_bytes(detections), out_dir / f"{split}_detection_dict.json")


def write_ln(
    out_dir: Path, scenes: Sequence[Scene], rng: numpy.random.Generator, split: str = "train",
    trace_noise: float = 0.05, trace_lag: float = 1.0,
) -> None:
    """Write unlabelled narrations as `flk30k_LN.json` + `flk30k_LN_label.h5`,
    and per-word trace boxes as `flk30k_LN_trace_box/<id>.npy`."""
    vocab: Dict[str, int] = {}
    sequences = []
    for scene in scenes:
        words = ln_words(scene.text)
        sequences.append([vocab.setdefault(w, len(vocab) + 1) for w, _, _ in words])
    write_traces(out_dir, scenes, rng, trace_noise, trace_lag)
    max_len = max([len(s) for s in sequences] + [1])
    labels = numpy.zeros((len(sequences), max_len), dtype="uint32")
    for i, seq in enumerate(sequences):
        labels[i, : len(seq)] = seq
    n = len(scenes)
    start_ix = numpy.arange(1, n + 1, dtype="int64")

    def fill(file_: Any) -> None:
        file_.create_dataset("labels", data=labels, track_times=False)
        file_.create_dataset("label_start_ix", data=start_ix, track_times=False)
        file_.create_dataset("label_end_ix", data=start_ix.copy(), track_times=False)
        file_.create_dataset("label_length", data=numpy.asarray([len(s) for s in sequences], dtype="int64"), track_times=False)

    _write_h5_atomic(out_dir / "flk30k_LN_label.h5", fill)
    info = {
        "ix_to_word": {str(i): w for w, i in vocab.items()},
        "images": [
            {"id": int(s.image_id), "split": split, "file_path": f"{s.image_id}.jpg", "width": s.width, "height": s.height}
            for s in scenes
        ],
    }
    write_bytes_atomic(_json_bytes(info), out_dir / "flk30k_LN.json")


def write_cin(out_dir: Path, splits: Dict[str, Sequence[Scene]]) -> None:
    """Write the labelled splits as CIN annotations
    (`cin_annotations/testval_annotations.json` and `{split}_image_ids.json`)
    and their gold chains as scorch JSON (`gold/{split}/<id>.json`)."""
    cin_dir = out_dir / "cin_annotations"
    records = [scene.cin_record(split) for split, scenes in splits.items() for scene in scenes]
    write_bytes_atomic(_json_bytes(records), cin_dir / "testval_annotations.json")
    for split, scenes in splits.items():
        write_bytes_atomic(_json_bytes([s.image_id for s in scenes]), cin_dir / f"{split}_image_ids.json")
        for scene in scenes:
            write_bytes_atomic(_json_bytes(scene.scorch()), out_dir / "gold" / split / f"{scene.image_id}.json")


def write_phenomena(path: Path, splits: Dict[str, Sequence[Scene]], held_out: Sequence[str] = ()) -> Dict[str, int]:
    """Write, for every gold mention of the labelled splits, the phenomena it
    exercises (its tags; `singleton` by its chain's size; `held_out_category`
    for a thing of a held-out category). Returns the mentions per tag."""
    phenomena: Dict[str, Any] = {}
    counts: Dict[str, int] = {}
    for split, scenes in splits.items():
        for scene in scenes:
            chains = scene.chains()
            items = []
            for m in sorted(scene.mentions, key=lambda m: (m.start, m.end)):
                tags = set(m.tags)
                if scene.entities[m.eid].cat.name in held_out:
                    tags.add("held_out_category")
                if len(chains[m.eid]) == 1:
                    tags.add("singleton")
                else:
                    tags.discard("singleton")
                for tag in tags:
                    counts[tag] = counts.get(tag, 0) + 1
                items.append({"start": m.start, "end": m.end, "text": scene.text[m.start : m.end], "chain": m.eid, "tags": sorted(tags)})
            phenomena[scene.image_id] = {"split": split, "mentions": items}
    write_bytes_atomic(_json_bytes(phenomena), path)
    return counts
