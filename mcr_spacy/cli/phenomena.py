"""`python -m mcr_spacy phenomena`: scores per phenomenon, with and without the image."""
import json
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..training.io import write_bytes_atomic
from .write_docs import provenance
from ..errors import Errors, MultimodalCorefError
from ..scoring.phenomena import compare_with_text_only
from ..training.examples import make_predicted_doc
from ._util import app, component_keys, guard_outputs, load_pipeline_or_exit, format_percent as _pct
from .evaluate import read_reference_docs


@app.command("phenomena")
def phenomena_cli(
    model: str = typer.Argument(..., help="Trained pipeline with a multimodal_coref component."),
    data_path: Path = typer.Argument(..., help="Gold data (.spacy) of the tagged data set, e.g. the synthetic test split."),
    tags_path: Path = typer.Argument(..., help="The phenomenon tags: synth_phenomena.json written by `synth`."),
    gold_mentions: bool = typer.Option(False, "--gold-mentions", help="Give the model the gold mentions."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the scores as JSON here."),
) -> None:
    """Antecedent and grounding accuracy per phenomenon (pronoun, synonym,
    hypernym, image_only, ...), for the model with the image and for the same
    model with the regions removed (text only).

    TAGS_PATH maps each image id to {"mentions": [{"start", "end", "chain",
    "tags"}]} (character offsets into the narration). A mention's antecedent is
    right when its earlier predicted cluster-mates are exactly its earlier gold
    cluster-mates (mentions with a gold antecedent only)."""
    guard_outputs([output], [model, data_path, tags_path])
    try:
        tagged = json.loads(tags_path.read_text(encoding="utf8"))
    except (OSError, ValueError) as err:
        msg.fail(Errors.E706.format(path=tags_path, error=err), exits=1)
    nlp = load_pipeline_or_exit(model)
    prefix, key = component_keys(nlp)
    try:
        references = read_reference_docs(nlp, data_path)
        results = compare_with_text_only(
            nlp, references, tagged, span_cluster_prefix=prefix, mentions_key=key,
            make_doc=lambda ref: make_predicted_doc(nlp, ref, gold_mentions=gold_mentions, span_cluster_prefix=prefix),
        )
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    rows = []
    for tag, with_image in results["with_image"].items():
        text_only = results["text_only"][tag]
        rows.append((
            tag, with_image["n_with_antecedent"], _pct(with_image["antecedent_acc"]),
            _pct(text_only["antecedent_acc"]), with_image["n_with_box"],
            _pct(with_image["grounding_acc"]), _pct(text_only["grounding_acc"]),
        ))
    msg.divider(f"Phenomena ({'gold' if gold_mentions else 'predicted'} mentions)")
    msg.table(rows, header=("tag", "n", "antecedent", "text only", "n boxes", "grounding", "text only"))
    if output is not None:
        results["provenance"] = provenance()
        write_bytes_atomic(json.dumps(results, indent=2).encode("utf8"), output)
        msg.good(f"Saved the scores to {output}")
