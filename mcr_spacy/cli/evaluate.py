"""`python -m mcr_spacy evaluate`: coreference and grounding scores of a pipeline,
with baselines and scorch's figures beside them."""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import spacy
import typer
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from wasabi import msg

from ..scoring.baselines import GROUNDING_BASELINES, TEXT_BASELINES
from ..scoring.label_grounding import (
    TABLE_ROWS as LABEL_GROUNDING_ROWS, label_grounding_accuracy, labelled_mentions, majority_labels, predicted_labels,
)
from ..scoring.vispro import GROUPS as VISPRO_GROUPS, has_pronoun_info, pronoun_scores
from ..training.io import write_bytes_atomic
from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY, IOU_THRESHOLD, PREDICTED_MENTIONS_KEY
from ..errors import DataFormatError, Errors, MultimodalCorefError
from ..scoring.metrics import coref_metrics, grounding_accuracy, mention_detection
from ..scoring.scorer import evaluate_examples, flat_scores, gold_from_doc, predictions_from_doc, without_singletons
from ..scoring.scorch_export import SCORCH_NOTE, ScorchError, run_scorch, scorch_command, write_scorch_dirs
from ..annotation.clusters import get_cluster_groups
from ..training.examples import make_predicted_doc
from ..training.io import read_corpus
from .write_docs import provenance
from ._util import app, component_keys, format_percent as _pct, guard_outputs

COREF_ROWS = (("MUC", "muc"), ("B3", "b3"), ("CEAF-m", "ceafm"), ("CEAF-e", "ceafe"), ("BLANC", "blanc"), ("LEA", "lea"))


def read_reference_docs(nlp: Language, data_path: Path) -> List[Doc]:
    """The gold docs of a .spacy file (or a folder of them), with user data."""
    return read_corpus(data_path, nlp.vocab, what="Evaluation data")


def _mention_spans(doc: Doc, prefix: str, mentions_key: str, use_gold_mentions: bool, gold_mentions_key: str) -> List[Span]:
    """The mentions a baseline works on: the gold mentions given to the model,
    or the mentions the model considered."""
    if use_gold_mentions:
        return list(doc.spans[gold_mentions_key]) if gold_mentions_key in doc.spans else []
    spans = [span for _, group in get_cluster_groups(doc, prefix) for span in group]
    if mentions_key in doc.spans:
        spans.extend(doc.spans[mentions_key])
    return spans


def run_baselines(
    examples: Sequence[Example], prefix: str, mentions_key: str, use_gold_mentions: bool, gold_mentions_key: str,
    singletons: bool = True,
) -> Dict[str, Dict[str, Any]]:
    """Coreference baselines (scored on coreference) and grounding baselines
    (scored on grounding) on the mentions of the evaluation; without
    `singletons`, one-mention clusters are not scored."""
    gold_clusters, gold_items, mentions, regions = [], [], [], []
    for eg in examples:
        clusters, items = gold_from_doc(eg.reference, prefix, gold_mentions_key)
        gold_clusters.append(clusters if singletons else without_singletons(clusters))
        gold_items.append(items)
        mentions.append(_mention_spans(eg.predicted, prefix, mentions_key, use_gold_mentions, gold_mentions_key))
        regions.append(eg.predicted._.image_regions)
    results: Dict[str, Dict[str, Any]] = {}
    references = [eg.reference for eg in examples]
    for name, make_clusters in TEXT_BASELINES.items():
        clusters = [make_clusters(spans) for spans in mentions]
        if not singletons:
            clusters = [without_singletons(c) for c in clusters]
        coref = coref_metrics(gold_clusters, clusters)
        flat = flat_scores(coref, {"acc": None, "acc_noun": None, "acc_pronoun": None})
        results[name] = {"kind": "coreference", "coref": coref, "mentions": mention_detection(gold_clusters, clusters),
                         **{k: v for k, v in flat.items() if k.startswith("coref_")}}
        if has_pronoun_info(references):
            results[name]["vispro_pronouns"] = pronoun_scores(references, clusters)
    for name, make_boxes in GROUNDING_BASELINES.items():
        grounding = grounding_accuracy(gold_items, [make_boxes(spans, r) for spans, r in zip(mentions, regions)])
        results[name] = {
            "kind": "grounding",
            "grounding": grounding,
            "grounding_acc": grounding["acc"],
            "grounding_acc_noun": grounding["acc_noun"],
            "grounding_acc_pronoun": grounding["acc_pronoun"],
        }
    return results


def _doc_label(doc: Doc, index: int) -> str:
    regions = doc._.image_regions
    if regions is not None and regions.image_id is not None:
        return str(regions.image_id)
    return f"doc{index}"


def evaluate(
    nlp: Language,
    references: Sequence[Doc],
    *,
    use_gold_mentions: bool = False,
    span_cluster_prefix: Optional[str] = None,
    mentions_key: Optional[str] = None,
    gold_mentions_key: str = GOLD_MENTIONS_KEY,
    scorch_dir: Optional[Path] = None,
    batch_size: int = 32,
    text_only: bool = False,
    singletons: bool = True,
) -> Dict[str, Any]:
    """Run `nlp` on the texts of `references` and score it. RETURNS the report:
    the flat score keys at top level, plus "coref", "grounding", "baselines",
    "scorch" (when `scorch_dir` is given), "protocol", "vispro_pronouns" (when
    the references carry VisPro's pronoun annotation), "label_grounding" (when
    clusters without gold boxes name region labels) and, with `text_only`,
    "text_only": the same scores of the same pipeline on the docs without
    their regions. Without `singletons`, one-mention clusters of the gold,
    the model and the baselines are not scored."""
    default_prefix, default_key = component_keys(nlp)
    prefix = span_cluster_prefix or default_prefix
    key = mentions_key or default_key
    if references and not any(get_cluster_groups(doc, prefix) for doc in references):
        raise DataFormatError(Errors.E701.format(n_docs=len(references), span_cluster_prefix=prefix))
    def score(with_regions: bool) -> Tuple[Dict[str, Any], List[Doc]]:
        inputs = []
        for ref in references:
            doc = make_predicted_doc(
                nlp, ref, gold_mentions=use_gold_mentions, mentions_key=gold_mentions_key, span_cluster_prefix=prefix
            )
            if not with_regions:
                doc._.image_regions = None
            inputs.append(doc)
        predicted = list(nlp.pipe(inputs, batch_size=batch_size))
        report = _score_predictions(predicted, references, prefix, key, gold_mentions_key, use_gold_mentions, singletons)
        return report, predicted

    report, predicted = score(with_regions=True)
    if text_only:
        text_report, _ = score(with_regions=False)
        report["text_only"] = {k: v for k, v in text_report.items() if k.startswith(("coref", "grounding", "vispro"))}
    if scorch_dir is not None:

        documents = []
        for i, (pred, ref) in enumerate(zip(predicted, references)):
            gold, _ = gold_from_doc(ref, prefix, gold_mentions_key)
            system, _ = predictions_from_doc(pred, prefix, key)
            documents.append((_doc_label(ref, i), ref.text, gold, system))
        gold_dir, sys_dir, n_files = write_scorch_dirs(scorch_dir, documents)
        try:
            averaged, error = run_scorch(gold_dir, sys_dir), None
        except ScorchError as err:
            averaged, error = None, str(err)
        report["scorch"] = {
            "per_document_average": averaged,
            "error": error,
            "pooled": {name: report["coref"][name] for name in ("muc", "b3", "ceafm", "ceafe", "blanc")},
            "n_files": n_files,
            "command": " ".join(scorch_command(scorch_dir)),
            "note": SCORCH_NOTE,
        }
    return report


def _score_predictions(
    predicted: List[Doc], references: Sequence[Doc], prefix: str, key: str,
    gold_mentions_key: str, use_gold_mentions: bool, singletons: bool = True,
) -> Dict[str, Any]:
    """The scores of the `predicted` docs against `references`, with the baselines."""
    examples = [Example(pred, ref) for pred, ref in zip(predicted, references)]
    results = evaluate_examples(
        examples, span_cluster_prefix=prefix, mentions_key=key, gold_mentions_key=gold_mentions_key,
        singletons=singletons, refined_box_key="refined_box",
    )
    predictions = [predictions_from_doc(doc, prefix, key) for doc in predicted]
    report: Dict[str, Any] = dict(results["scores"])
    report["coref"] = results["coref"]
    report["mentions"] = results["mentions"]
    report["grounding"] = results["grounding"]
    report["grounding_box_precision"] = results["grounding"]["box_precision"]
    refined = report["grounding_refined"] = results["grounding_refined"]
    report.update({f"{name}_refined": refined[k] for name, k in REFINED_KEYS})
    report["protocol"] = "gold mentions" if use_gold_mentions else "predicted mentions"
    report["singletons"] = singletons
    report["n_docs"] = len(references)
    report["n_predicted_mentions"] = sum(len(boxes) for _, boxes in predictions)
    if has_pronoun_info(references):
        report["vispro_pronouns"] = pronoun_scores(references, [clusters for clusters, _ in predictions])
    labelled = [labelled_mentions(ref, prefix) for ref in references]
    by_label = label_grounding_accuracy(labelled, [predicted_labels(doc, key) for doc in predicted])
    if by_label is not None:
        report["label_grounding"] = {
            "model": by_label,
            "majority label": label_grounding_accuracy(labelled, [majority_labels(doc, key) for doc in predicted]),
        }
    report["baselines"] = run_baselines(examples, prefix, key, use_gold_mentions, gold_mentions_key, singletons)
    return report


def print_report(report: Dict[str, Any]) -> None:
    """Print the report as tables."""
    singletons = "" if report.get("singletons", True) else ", no singletons"
    msg.divider(f"Coreference ({report['protocol']}{singletons}, {report['n_docs']} docs)")
    rows = [(label, _pct(report["coref"][k]["r"]), _pct(report["coref"][k]["p"]), _pct(report["coref"][k]["f"])) for label, k in COREF_ROWS]
    rows.append(("CoNLL", "", "", _pct(report["coref"]["conll_f"])))
    mentions = report["mentions"]
    rows.append(("mentions", _pct(mentions["r"]), _pct(mentions["p"]), _pct(mentions["f"])))
    msg.table(rows, header=("metric", "R", "P", "F1"), aligns=("l", "r", "r", "r"))
    text_baselines = [name for name, b in report["baselines"].items() if b["kind"] == "coreference"]
    rows = [
        (label, _pct(report["coref"][k]["f"]), *(_pct(report["baselines"][b]["coref"][k]["f"]) for b in text_baselines))
        for label, k in COREF_ROWS
    ]
    rows.append(("CoNLL", _pct(report["coref_conll_f"]), *(_pct(report["baselines"][b]["coref_conll_f"]) for b in text_baselines)))
    msg.table(rows, header=("F1", "model", *text_baselines), aligns=("l", "r", *("r" for _ in text_baselines)))
    g = report["grounding"]
    msg.divider(f"Grounding accuracy (IoU >= {IOU_THRESHOLD}; {g['total']} gold boxes: {g['total_noun']} noun, {g['total_pronoun']} pronoun)")
    ground_baselines = [name for name, b in report["baselines"].items() if b["kind"] == "grounding"]
    rows = [
        (label, _pct(report[key]), *(_pct(report["baselines"][b][key]) for b in ground_baselines))
        for label, key in (("overall", "grounding_acc"), ("nouns", "grounding_acc_noun"), ("pronouns", "grounding_acc_pronoun"))
    ]
    rows.append(("box precision", _pct(report.get("grounding_box_precision")),
                 *(_pct(report["baselines"][b]["grounding"].get("box_precision")) for b in ground_baselines)))
    msg.table(rows, header=("accuracy", "model", *ground_baselines), aligns=("l", "r", *("r" for _ in ground_baselines)))
    print_refined_table(report)
    if "vispro_pronouns" in report:
        print_pronoun_table(report)
    if "label_grounding" in report:
        print_label_grounding_table(report["label_grounding"])
    text = report.get("text_only")
    if text is not None:
        msg.divider("Without the regions (same pipeline, text only)")
        rows = [(label, _pct(report["coref"][k]["f"]), _pct(text["coref"][k]["f"])) for label, k in COREF_ROWS]
        rows.append(("CoNLL", _pct(report["coref_conll_f"]), _pct(text["coref_conll_f"])))
        rows.append(("grounding", _pct(report["grounding_acc"]), _pct(text["grounding_acc"])))
        msg.table(rows, header=("F1", "with regions", "text only"), aligns=("l", "r", "r"))
    scorch = report.get("scorch")
    if scorch is not None:
        msg.divider("scorch")
        averaged = scorch["per_document_average"]
        if averaged is None:
            msg.warn(f"No scorch figures: {scorch['error']}.")
        else:
            rows = [
                (label, _pct(scorch["pooled"][k]["f"]), _pct(averaged[k]["f"]))
                for label, k in COREF_ROWS if k in averaged
            ]
            rows.append(("CoNLL", _pct(report["coref_conll_f"]), _pct(averaged.get("conll_f"))))
            msg.table(rows, header=("F1", "pooled (reference scorer)", "scorch per-doc average"), aligns=("l", "r", "r"))
        msg.text(scorch["note"])
        msg.info(f"{scorch['n_files']} files per side; reproduce with: {scorch['command']}")


REFINED_KEYS = (
    ("grounding_acc", "acc"), ("grounding_acc_noun", "acc_noun"), ("grounding_acc_pronoun", "acc_pronoun"),
    ("grounding_box_precision", "box_precision"),
)


def print_refined_table(report: Dict[str, Any]) -> None:
    """Grounding accuracy of the box head's refined boxes beside the region
    boxes they refine (same IoU rule, same gold boxes)."""
    if "grounding_refined" not in report:
        return
    rows = [
        (label, _pct(report.get(key)), _pct(report.get(f"{key}_refined")))
        for label, key in (("overall", "grounding_acc"), ("nouns", "grounding_acc_noun"), ("pronouns", "grounding_acc_pronoun"),
                           ("box precision", "grounding_box_precision"))
    ]
    msg.table(rows, header=("accuracy", "region boxes", "refined boxes"), aligns=("l", "r", "r"))


def print_pronoun_table(report: Dict[str, Any]) -> None:
    """VisPro's pronoun metric of the model, the text-only run and the text baselines."""
    msg.divider("VisPro pronouns (antecedent NPs among the candidates: P / R / F1)")
    systems = [("model", report["vispro_pronouns"])]
    if "vispro_pronouns" in report.get("text_only", {}):
        systems.append(("text only", report["text_only"]["vispro_pronouns"]))
    systems += [(name, b["vispro_pronouns"]) for name, b in report["baselines"].items() if "vispro_pronouns" in b]
    rows = []
    for group in VISPRO_GROUPS:
        n = report["vispro_pronouns"][group]["n"]
        rows.append((f"{group} ({n})", *(" / ".join(_pct(s[group][k]) for k in ("p", "r", "f")) for _, s in systems)))
    msg.table(rows, header=("pronouns (antecedents)", *(name for name, _ in systems)), aligns=("l", *("r" for _ in systems)))


def print_label_grounding_table(scores: Dict[str, Dict[str, Any]]) -> None:
    """Grounding scored by detector labels, of the model and the baseline."""
    msg.divider("Grounding by detector label (the region's label is one its cluster's noun phrases name)")
    model = scores["model"]
    rows = [(f"{label} ({model[n]})", *(_pct(s[key]) for s in scores.values())) for label, key, n in LABEL_GROUNDING_ROWS]
    msg.table(rows, header=("accuracy (mentions)", *scores), aligns=("l", *("r" for _ in scores)))


@app.command("evaluate")
def evaluate_cli(
    model: str = typer.Argument(..., help="Pipeline to evaluate: an installed package name or a directory saved with nlp.to_disk / spacy train."),
    data_path: Path = typer.Argument(..., help="Gold data: a .spacy file (DocBin with user data) written by a convert command.", exists=False),
    gold_mentions: bool = typer.Option(False, "--gold-mentions", help="Give the model the gold mentions (the paper's protocol) in doc.spans[GOLD_KEY]; default: end to end, with the model's own mentions."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report as JSON here (written atomically)."),
    scorch_dir: Optional[Path] = typer.Option(None, "--scorch-dir", help="Write per-image scorch JSON to DIR/gold and DIR/sys and report scorch's own per-document figures."),
    span_cluster_prefix: Optional[str] = typer.Option(None, "--span-cluster-prefix", "--prefix", help=f"Cluster prefix of gold and predicted clusters (default: the multimodal_coref component's span_cluster_prefix, else '{CLUSTER_PREFIX}'); --prefix is its old name."),
    mentions_key: Optional[str] = typer.Option(None, "--mentions-key", help=f"doc.spans key of the predicted mentions (default: the component's mentions_key, else '{PREDICTED_MENTIONS_KEY}')."),
    gold_mentions_key: str = typer.Option(GOLD_MENTIONS_KEY, "--gold-key", help="doc.spans key of the gold mentions given with --gold-mentions."),
    batch_size: int = typer.Option(32, "--batch-size", "-b", help="Docs per batch in nlp.pipe."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU to run on (-1: CPU)."),
    text_only: bool = typer.Option(False, "--text-only", help="Also score the same pipeline on the docs with their regions removed (what the image adds)."),
    no_singletons: bool = typer.Option(False, "--no-singletons", help="Leave one-mention clusters (gold, model and baselines) out of the coreference and mention figures, as CoNLL-2012 scores OntoNotes: for data that annotates no singletons (VisPro), end to end."),
) -> None:
    """Score a pipeline's coreference clusters and groundings against gold data.

    DATA_PATH is a .spacy file (or a folder of them) whose docs carry the gold:
    clusters in doc.spans['PREFIX_1'], doc.spans['PREFIX_2'], ... (singletons as one-span
    groups), each gold mention's boxes in span._.grounding = {"boxes": a list of
    [ x1, y1, x2, y2 ] boxes} (pixels; a mention without boxes is not counted for
    grounding) and the image's detected regions in doc._.image_regions. The
    model gets a fresh doc of each text with the regions (and with
    --gold-mentions every gold mention: those of the gold clusters and of
    doc.spans[GOLD_KEY]). Its clusters are read from doc.spans['PREFIX_i'], its
    mentions from doc.spans[MENTIONS_KEY] (mentions outside every cluster are
    singletons) and its boxes from span._.grounding["box"]. Mentions are
    matched by character offsets.

    Coreference figures (MUC, B3, CEAF-m, CEAF-e, BLANC, LEA, CoNLL) are pooled
    over documents as the CoNLL reference scorer pools them. Grounding accuracy
    counts one (mention, gold box) pair per gold box, correct when IoU >= 0.5
    (inclusive pixels), for all mentions, nouns and pronouns; a mention
    grounded to several regions (span._.grounding["boxes"]) has each of its
    boxes matched to one gold box at most, and box precision (the share of
    predicted boxes matched) is reported beside accuracy. Baselines on the
    same mentions: all singletons, string match with pronoun rules, largest
    region, best-matching detector label. Docs with VisPro's pronoun annotation
    (doc._.pronoun_info, kept by convert-jsonlines) also get VisPro's pronoun
    metric: precision, recall and F1 of the antecedent noun phrases put in each
    referential pronoun's cluster, for pronouns whose referent was discussed in
    the dialog and for those that were not. Clusters without gold boxes whose
    noun phrases name detector labels of their regions ("a man ... he":
    person) are scored by label: a mention is right when grounded to a region
    with one of those labels, beside a baseline that grounds every mention to
    the image's most frequent label.
    """
    guard_outputs([output, scorch_dir], [model, data_path])
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    try:
        nlp = spacy.load(model)
    except (OSError, ValueError) as err:
        msg.fail(Errors.E702.format(model=model, error=err), exits=1)
    try:
        references = read_reference_docs(nlp, data_path)
        if not references:
            msg.fail(Errors.E722.format(command="evaluate", path=str(data_path)), exits=1)
        report = evaluate(
            nlp,
            references,
            use_gold_mentions=gold_mentions,
            span_cluster_prefix=span_cluster_prefix,
            mentions_key=mentions_key,
            gold_mentions_key=gold_mentions_key,
            scorch_dir=scorch_dir,
            batch_size=batch_size,
            text_only=text_only,
            singletons=not no_singletons,
        )
    except MultimodalCorefError as err:
        msg.fail(str(err), exits=1)
    if not gold_mentions and report["n_predicted_mentions"] == 0 and report["n_docs"]:
        msg.warn(
            "The pipeline predicted no mentions. If its mention getter reads gold "
            "mentions (mcr_spacy.span_group_mentions.v1), run with --gold-mentions, "
            "or configure mcr_spacy.noun_chunk_mentions.v1 for end-to-end evaluation."
        )
    print_report(report)
    if output is not None:
        report["provenance"] = provenance()
        output.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(json.dumps(report, indent=2, ensure_ascii=False).encode("utf8"), output)
        msg.good(f"Saved the report to {output}")
