"""`python -m mcr_spacy summarize-ablation`: variants of a setting over seeds;
`summarize-folds`: a cross-validation's folds, or training seeds, against the string-match baseline."""
from pathlib import Path
from typing import List, Optional

import srsly
import typer
from spacy.vocab import Vocab
from wasabi import msg

from ..errors import Errors, MultimodalCorefError
from ..scoring.ablation import FOLD_METRICS, SUMMARY_KEYS, region_ceilings, summarize_folds, summarize_variants
from ..training.io import read_corpus, write_bytes_atomic
from ._util import app, format_percent, guard_outputs
from .write_docs import provenance


@app.command("summarize-ablation")
def summarize_ablation_cli(
    metrics_dir: Path = typer.Argument(..., help="Folder of the variants' evaluation reports PREFIX_sSEED.json (and PREFIX_sSEED_phenomena.json)."),
    output_path: Path = typer.Argument(..., help="Output JSON summary (written atomically)."),
    variants: List[str] = typer.Option(..., "--variant", help="name=prefix of a variant; repeat for each, baseline included."),
    baseline: str = typer.Option(..., "--baseline", help="Name of the variant the others are compared with."),
    ceiling_corpus: Optional[Path] = typer.Option(None, "--ceiling-corpus", help="The test corpus (.spacy, gold clusters with boxes and regions): also record the best grounding accuracy one region, and several regions, per mention can reach on it."),
) -> None:
    """Summarise an ablation: per variant, the mean over its seeds of grounding
    accuracy (region and refined boxes), box precision, CoNLL F1 and grounding accuracy on
    held-out-category boxes (from the phenomena reports), with the per-seed
    values, their standard deviation and the difference from the baseline;
    with --ceiling-corpus, also the single-region ceiling of grounding
    accuracy on that corpus, and the ceiling with several regions per
    mention."""
    pairs = {}
    for value in variants:
        name, sep, prefix = value.partition("=")
        if not sep or not name.strip() or not prefix.strip():
            msg.fail(Errors.E762.format(value=value), exits=1)
        pairs[name.strip()] = prefix.strip()
    guard_outputs([output_path], [metrics_dir] + ([ceiling_corpus] if ceiling_corpus else []))
    try:
        summary = summarize_variants(metrics_dir, pairs, baseline)
        if ceiling_corpus is not None:
            docs = read_corpus(ceiling_corpus, Vocab(), what="--ceiling-corpus")
            summary["grounding_ceiling"] = {"corpus": str(ceiling_corpus), **region_ceilings(docs)}
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    summary["provenance"] = provenance()
    write_bytes_atomic(srsly.json_dumps(summary, indent=2).encode("utf8"), output_path)
    rows = []
    for name, variant in summary["variants"].items():
        rows.append((
            name, len(variant["seeds"]),
            *(f"{format_percent(variant['mean'][key])} ({format_percent(variant['delta'][key], sign=True)})" for key, _ in SUMMARY_KEYS),
        ))
    msg.table(rows, header=("variant", "seeds", *(key for key, _ in SUMMARY_KEYS)))
    if summary.get("grounding_ceiling"):
        ceiling = summary["grounding_ceiling"]
        msg.info(f"One region per mention can reach {format_percent(ceiling['single_region'])} grounding accuracy on "
                 f"{ceiling_corpus}, several regions per mention {format_percent(ceiling['several_regions'])}")
    msg.good(f"Wrote {output_path}")


@app.command("summarize-folds")
def summarize_folds_cli(
    metrics_dir: Path = typer.Argument(..., help="Folder of the runs' evaluation reports PREFIX_sK.json (folds, or training seeds)."),
    output_path: Path = typer.Argument(..., help="Output JSON summary (written atomically)."),
    prefix: str = typer.Option("fold", "--prefix", help="File name prefix of the reports: fold, or seed."),
) -> None:
    """Summarise a cross-validation: per fold (its pipeline evaluated on its
    own test part) and as means over the folds, the coreference F1s of the
    model and of the string-match baseline on the same mentions, and the
    model's margin over the baseline. The same for one config trained with
    several seeds and scored on one test part (`--prefix seed`)."""
    guard_outputs([output_path], [metrics_dir])
    try:
        summary = summarize_folds(metrics_dir, prefix)
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    summary["provenance"] = provenance()
    write_bytes_atomic(srsly.json_dumps(summary, indent=2).encode("utf8"), output_path)
    rows = [(f"fold {fold['fold']}", fold["n_docs"], *(f"{format_percent(fold['model'][k])} / {format_percent(fold['string_match'][k])}" for k in FOLD_METRICS))
            for fold in summary["folds"]]
    rows.append(("mean", summary["n_docs"], *(f"{format_percent(summary['mean']['model'][k])} / {format_percent(summary['mean']['string_match'][k])}" for k in FOLD_METRICS)))
    msg.table(rows, header=("model / string match", "docs", *FOLD_METRICS))
    msg.info(f"CoNLL F1 margin over string match: {format_percent(summary['margin']['conll'], sign=True)} (mean of the {prefix}s)")
    msg.good(f"Wrote {output_path}")
