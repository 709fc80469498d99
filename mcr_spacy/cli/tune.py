"""`python -m mcr_spacy tune-threshold`: pick the clustering threshold on dev data."""
import math
from pathlib import Path

import typer
from wasabi import msg

from ..training.corpus import MultimodalCorpus
from ..training.io import corpus_files, save_pipeline
from ..errors import Errors, MultimodalCorefError
from ..pipeline.tuning import tune_multi_region_ratio, tune_threshold
from ..scoring.scorer import FLAT_KEYS
from ._util import app, format_percent, guard_outputs, load_pipeline_or_exit

MAX_THRESHOLDS = 1000


@app.command("tune-threshold")
def tune_threshold_cli(
    model: str = typer.Argument(..., help="Trained pipeline with a multimodal_coref component (left unchanged)."),
    data_path: Path = typer.Argument(..., help="Development data: a .spacy file with gold clusters."),
    output: Path = typer.Option(..., "--output", "-o", help="Save the tuned pipeline here (a new folder, or a pipeline's folder to replace; never MODEL)."),
    gold_mentions: bool = typer.Option(False, "--gold-mentions", help="Give the model the gold mentions (the paper's protocol)."),
    start: float = typer.Option(0.3, "--start", help="Smallest threshold tried."),
    stop: float = typer.Option(0.95, "--stop", help="Largest threshold tried."),
    step: float = typer.Option(0.05, "--step", help="Distance between thresholds tried."),
    metric: str = typer.Option("coref_conll_f", "--metric", help="Score to maximise."),
) -> None:
    """Choose the clustering linkage and threshold that maximise a score on
    development data (the model runs once; only the clustering is redone), and
    save the pipeline with them to OUTPUT, atomically (a temporary folder
    renamed into place), leaving MODEL as it was. When the component grounds
    plural mentions to several regions (multi_region_ratio set), the ratio is
    chosen too: the one with the best harmonic mean of grounding accuracy and
    box precision on the same data."""
    if not (math.isfinite(start) and math.isfinite(stop) and math.isfinite(step)) or step <= 0 or start > stop \
            or (stop - start) / step + 1 > MAX_THRESHOLDS:
        msg.fail(Errors.E720.format(step=step, start=start, stop=stop, max_n=MAX_THRESHOLDS), exits=1)
    if metric not in FLAT_KEYS:
        msg.fail(Errors.E721.format(metric=metric, options=", ".join(FLAT_KEYS)), exits=1)
    guard_outputs([output], [model, data_path])
    nlp = load_pipeline_or_exit(model)
    try:
        corpus_files(data_path, what="Development data")
        examples = list(MultimodalCorpus(data_path, gold_mentions=gold_mentions)(nlp))
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    if not examples:
        msg.fail(Errors.E722.format(command="tune-threshold", path=str(data_path)), exits=1)
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    thresholds = [round(start + i * step, 6) for i in range(n)]
    try:
        best, table = tune_threshold(nlp, examples, thresholds, metric=metric)
        best_ratio, ratio_table = tune_multi_region_ratio(nlp, examples)
        save_pipeline(nlp, output)
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    msg.table(
        [(row["linkage"], f"{row['threshold']:.2f}", format_percent(row[metric])) for row in table],
        header=("linkage", "threshold", metric),
    )
    msg.good(
        f"Best on {len(examples)} docs: linkage {best['linkage']}, threshold {best['threshold']:.2f} "
        f"({metric} {format_percent(best[metric])}); saved to {output}"
    )
    if ratio_table:
        msg.table(
            [(f"{row['multi_region_ratio']:.2f}", format_percent(row["grounding_acc"]), format_percent(row["box_precision"]),
              format_percent(row["box_f"])) for row in ratio_table],
            header=("multi_region_ratio", "grounding_acc", "box precision", "harmonic mean"),
        )
    if best_ratio is not None:
        msg.good(f"Plural mentions: multi_region_ratio {best_ratio['multi_region_ratio']:.2f} "
                 f"(grounding_acc {format_percent(best_ratio['grounding_acc'])}, box precision "
                 f"{format_percent(best_ratio['box_precision'])})")
