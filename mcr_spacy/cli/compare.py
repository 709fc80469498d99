"""`python -m mcr_spacy compare`: evaluation reports side by side."""
import json
from pathlib import Path
from typing import List, Optional

import typer
from wasabi import msg

from ..errors import Errors
from ..scoring.scorer import FLAT_KEYS
from ._util import app, format_percent


@app.command("compare")
def compare_cli(
    reports: List[Path] = typer.Argument(..., help="JSON reports written by `evaluate --output`."),
    names: Optional[str] = typer.Option(None, "--names", help="Comma-separated column names (default: the file names)."),
) -> None:
    """Print the scores of several evaluation reports side by side, with the
    difference of each to the first."""
    labels = names.split(",") if names else [path.stem for path in reports]
    if len(labels) != len(reports):
        msg.fail(Errors.E707.format(n_names=len(labels), n_reports=len(reports)), exits=1)
    data = []
    for path in reports:
        try:
            data.append(json.loads(path.read_text(encoding="utf8")))
        except (OSError, ValueError) as err:
            msg.fail(Errors.E708.format(path=path, error=err), exits=1)
        if not isinstance(data[-1], dict):
            msg.fail(Errors.E723.format(path=path, type=type(data[-1]).__name__), exits=1)
    rows = []
    for key in FLAT_KEYS:
        values = [report.get(key) for report in data]
        cells = [format_percent(v) for v in values]
        if len(values) > 1 and values[0] is not None:
            cells += [format_percent(None if v is None else values[0] - v, sign=True) for v in values[1:]]
        rows.append([key] + cells)
    header = ["score"] + labels + [f"{labels[0]} - {label}" for label in labels[1:]]
    msg.table(rows, header=header)
