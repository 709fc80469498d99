"""Per-image scorch JSON files, and scorch's own per-document figures.

`scorch gold_dir sys_dir` (the tool of the EMNLP 2023 paper) reads one JSON file
per document, `{"name", "type": "clusters", "clusters": {id: [mention ids]}}`,
pairs the files by name, scores each document, and averages over documents
(recall weighted by gold mentions, precision by system mentions). It also adds
every system mention missing from the gold to the gold as a singleton. Its
figures therefore differ from the pooled reference-scorer figures of
`mcr_spacy.scoring.metrics`, which is why the evaluation reports both.
"""
import contextlib
import io
import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple, Union

from ..training.io import write_bytes_atomic
from ..errors import Errors
from .metrics import Offsets

SCORCH_NOTE = (
    "scorch's command line scores each image on its own and averages over images "
    "(recall weighted by gold mentions, precision by system mentions), after adding "
    "system-only mentions to the gold as singletons; the pooled figures sum counts "
    "over the corpus as the CoNLL reference scorer does, so the two differ."
)
_METRIC_NAMES = {"MUC": "muc", "B³": "b3", "CEAF_m": "ceafm", "CEAF_e": "ceafe", "BLANC": "blanc"}


def mention_ids(text: str, mentions: Iterable[Offsets]) -> Dict[Offsets, str]:
    """Scorch ids `<mention text><index>` for character-offset mentions, the
    index counting the distinct mentions in text order, so that gold and system
    give the same id to the same mention."""
    return {m: f"{text[m[0]:m[1]]}{i}" for i, m in enumerate(sorted(set(mentions)))}


def scorch_document(name: str, clusters: Sequence[Sequence[Offsets]], ids: Dict[Offsets, str]) -> dict:
    """One document in scorch's JSON `clusters` format."""
    return {
        "name": name,
        "type": "clusters",
        "clusters": {str(i): [ids[m] for m in cluster] for i, cluster in enumerate(clusters) if cluster},
    }


def _file_stem(index: int, width: int, name: str) -> str:
    # scorch pairs a system file with the first gold file whose name starts
    # with the system file's stem: a fixed-width index keeps stems from being
    # prefixes of one another.
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:80]
    return f"{index:0{width}d}_{safe}" if safe else f"{index:0{width}d}"


def write_scorch_dirs(
    output_dir: Union[str, Path],
    documents: Sequence[Tuple[str, str, Sequence[Sequence[Offsets]], Sequence[Sequence[Offsets]]]],
) -> Tuple[Path, Path, int]:
    """Write `output_dir/gold/*.json` and `output_dir/sys/*.json`, one file per
    document.

    documents: `(name, text, gold_clusters, system_clusters)` per document, with
        clusters of `(start_char, end_char)` (singletons as one-mention clusters).
    RETURNS: the gold and system folders, and the number of files written
        (documents without any mention on either side are left out).
    """
    output_dir = Path(output_dir)
    gold_dir, sys_dir = output_dir / "gold", output_dir / "sys"
    for folder in (gold_dir, sys_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.json"):
            old.unlink()
    width = max(5, len(str(len(documents))))
    written = 0
    for index, (name, text, gold, system) in enumerate(documents):
        mentions = [m for cluster in list(gold) + list(system) for m in cluster]
        if not mentions:
            continue
        ids = mention_ids(text, mentions)
        stem = _file_stem(index, width, name)
        for folder, clusters in ((gold_dir, gold), (sys_dir, system)):
            data = json.dumps(scorch_document(name, clusters, ids), ensure_ascii=False, indent=1)
            write_bytes_atomic(data.encode("utf8"), folder / f"{stem}.json")
        written += 1
    return gold_dir, sys_dir, written


class ScorchError(RuntimeError):
    """scorch could not score the exported files."""


def run_scorch(gold_dir: Union[str, Path], sys_dir: Union[str, Path]) -> Dict[str, object]:
    """Scorch's own per-document-averaged figures for two folders, as its
    command line computes them: `{"muc": {"r", "p", "f"}, ..., "conll_f"}`.
    Raises ScorchError when scorch is not installed or cannot average (e.g.
    no system mention in any file)."""
    try:
        from scorch.main import process_dirs
    except ImportError as err:
        raise ScorchError(Errors.E320) from err
    if not any(Path(sys_dir).glob("*.json")):
        raise ScorchError(Errors.E321.format(path=sys_dir))
    results: Dict[str, object] = {}
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # scorch's progress bar
            lines = list(process_dirs(str(gold_dir), str(sys_dir)))
    except (ZeroDivisionError, ValueError, KeyError) as err:
        raise ScorchError(Errors.E322.format(error=f"{type(err).__name__}: {err}")) from err
    for line in lines:
        line = line.strip()
        if line.startswith("CoNLL-2012 average score:"):
            results["conll_f"] = float(line.split(":", 1)[1])
            continue
        name, _, rest = line.partition(":")
        if name in _METRIC_NAMES:
            values = dict(part.split("=", 1) for part in rest.split())
            results[_METRIC_NAMES[name]] = {
                "r": float(values["R"]), "p": float(values["P"]), "f": float(values["F₁"])
            }
    return results


def scorch_command(output_dir: Union[str, Path]) -> List[str]:
    """The command line that reproduces the paper's tooling on the exported files."""
    output_dir = Path(output_dir)
    return ["scorch", str(output_dir / "gold"), str(output_dir / "sys")]
