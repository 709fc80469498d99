"""`python -m mcr_spacy tune-threshold`: pick the clustering threshold on dev data."""
from pathlib import Path
from typing import Optional

import spacy
import typer
from wasabi import msg

from ..training.corpus import MultimodalCorpus
from ..errors import MultimodalCorefError
from ..pipeline.tuning import tune_threshold
from ._util import app, format_percent


@app.command("tune-threshold")
def tune_threshold_cli(
    model: str = typer.Argument(..., help="Trained pipeline with a multimodal_coref component."),
    data_path: Path = typer.Argument(..., help="Development data: a .spacy file with gold clusters."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Save the tuned pipeline here (default: overwrite MODEL)."),
    gold_mentions: bool = typer.Option(False, "--gold-mentions", help="Give the model the gold mentions (the paper's protocol)."),
    start: float = typer.Option(0.3, "--start", help="Smallest threshold tried."),
    stop: float = typer.Option(0.95, "--stop", help="Largest threshold tried."),
    step: float = typer.Option(0.05, "--step", help="Distance between thresholds tried."),
    metric: str = typer.Option("coref_conll_f", "--metric", help="Score to maximise."),
) -> None:
    """Choose the clustering linkage and threshold that maximise a score on
    development data (the model runs once; only the clustering is redone), and
    save the pipeline with them."""
    nlp = spacy.load(model)
    examples = list(MultimodalCorpus(data_path, gold_mentions=gold_mentions)(nlp))
    n = int(round((stop - start) / step)) + 1
    thresholds = [round(start + i * step, 6) for i in range(n)]
    try:
        best, table = tune_threshold(nlp, examples, thresholds, metric=metric)
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    msg.table(
        [(row["linkage"], f"{row['threshold']:.2f}", format_percent(row[metric])) for row in table],
        header=("linkage", "threshold", metric),
    )
    out = output or Path(model)
    nlp.to_disk(out)
    msg.good(
        f"Best on {len(examples)} docs: linkage {best['linkage']}, threshold {best['threshold']:.2f} "
        f"({metric} {format_percent(best[metric])}); saved to {out}"
    )
