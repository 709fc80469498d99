"""Corpus preparation: splitting a corpus, and finding the mentions of
unlabelled narrations with a trained mention detector."""
import random
from pathlib import Path
from typing import List, Optional

import spacy
import typer
from spacy.tokens import SpanGroup
from wasabi import msg

from ..convert.common import ConversionReport
from ..defaults import GOLD_MENTIONS_KEY
from ..errors import Errors
from ..training.io import write_docbin, write_docbins
from ._util import app, guard_outputs, load_pipeline_or_exit, read_corpus_or_exit


@app.command("split")
def split_cli(
    input_path: Path = typer.Argument(..., help="A .spacy file (or folder of them) to split."),
    first_path: Path = typer.Argument(..., help="Output .spacy file for the first part."),
    second_path: Path = typer.Argument(..., help="Output .spacy file for the rest."),
    fraction: float = typer.Option(0.8, "--fraction", help="Share of docs in the first part."),
    seed: int = typer.Option(0, "--seed", help="Seed of the shuffle before splitting."),
) -> None:
    """Split a corpus into two parts (e.g. train and dev) after a seeded shuffle."""
    if not 0.0 < fraction < 1.0:
        msg.fail(Errors.E703.format(fraction=fraction), exits=1)
    guard_outputs([first_path, second_path], [input_path])
    docs = read_corpus_or_exit(input_path, spacy.blank("en").vocab)
    random.Random(seed).shuffle(docs)
    cut = max(1, min(len(docs) - 1, round(len(docs) * fraction)))
    n1, n2 = write_docbins({first_path: docs[:cut], second_path: docs[cut:]})
    msg.good(f"Wrote {n1} docs to {first_path} and {n2} docs to {second_path}")


@app.command("split-folds")
def split_folds_cli(
    input_path: Path = typer.Argument(..., help="A .spacy file (or folder of them) to split into folds."),
    output_dir: Path = typer.Argument(..., help="Folder for train_K.spacy, dev_K.spacy and test_K.spacy of each fold K."),
    folds: int = typer.Option(4, "--folds", help="Number of folds."),
    dev_size: int = typer.Option(25, "--dev-size", help="Docs of each fold's training part also written as its dev set (for the training log only)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the shuffle before splitting."),
) -> None:
    """Split a corpus into folds for cross-validation: after a seeded shuffle,
    doc i goes to the test part of fold i % FOLDS and to the training part
    of every other fold, so that each doc is tested exactly once by a model
    that never saw it. Each fold's dev set is the first docs of its training
    part: training logs its scores, and no test doc is read in training."""
    docs = read_corpus_or_exit(input_path, spacy.blank("en").vocab)
    if not 2 <= folds <= len(docs):
        msg.fail(Errors.E763.format(n_docs=len(docs), path=input_path, folds=folds), exits=1)
    paths = [[output_dir / f"{part}_{k}.spacy" for part in ("train", "dev", "test")] for k in range(folds)]
    guard_outputs([path for fold in paths for path in fold], [input_path])
    random.Random(seed).shuffle(docs)
    parts = {}
    for k, (train_path, dev_path, test_path) in enumerate(paths):
        train = [doc for i, doc in enumerate(docs) if i % folds != k]
        parts.update({train_path: train, dev_path: train[:max(1, dev_size)], test_path: docs[k::folds]})
    output_dir.mkdir(parents=True, exist_ok=True)
    tested = write_docbins(parts)[2::3]
    msg.good(f"Wrote {folds} folds of {len(docs)} docs to {output_dir} (test parts of {min(tested)} to {max(tested)} docs)")


@app.command("annotate-mentions")
def annotate_mentions_cli(
    model: str = typer.Argument(..., help="A pipeline whose entity recognizer finds mentions (e.g. trained with configs/mentions.cfg)."),
    input_path: Path = typer.Argument(..., help="A .spacy file (or folder of them) of narrations."),
    output_path: Path = typer.Argument(..., help="Output .spacy file: the same docs with doc.spans[KEY] set."),
    key: str = typer.Option(GOLD_MENTIONS_KEY, "--key", help="doc.spans key the mentions are written to."),
    labels: Optional[List[str]] = typer.Option(None, "--label", help="Entity labels taken as mentions (default: all)."),
    batch_size: int = typer.Option(64, "--batch-size"),
) -> None:
    """Find the mentions of each doc with a trained mention detector and store
    them in `doc.spans[KEY]`, keeping everything else on the doc (regions,
    trace boxes). Docs that already have KEY are left as they are."""
    guard_outputs([output_path], [model, input_path])
    nlp = load_pipeline_or_exit(model)
    docs = read_corpus_or_exit(input_path, nlp.vocab)
    report = ConversionReport("annotate-mentions")
    todo = [doc for doc in docs if key not in doc.spans]
    report.keep("docs that already had mentions", len(docs) - len(todo))
    label_set = set(labels) if labels else None
    for doc, parsed in zip(todo, nlp.pipe((doc.text for doc in todo), batch_size=batch_size)):
        spans = []
        for ent in parsed.ents:
            if label_set is None or ent.label_ in label_set:
                span = doc.char_span(ent.start_char, ent.end_char)
                if span is None:
                    report.skip("mention not on the stored doc's tokens")
                    continue
                spans.append(span)
        doc.spans[key] = SpanGroup(doc, name=key, spans=spans)
        report.keep("docs annotated")
        report.keep("mentions", len(spans))
    write_docbin(docs, output_path)
    report.print()
    msg.good(f"Wrote {len(docs)} docs to {output_path}")


@app.command("export-texts")
def export_texts_cli(
    paths: List[Path] = typer.Argument(..., help=".spacy files (or folders) to read, then the output .jsonl file."),
) -> None:
    """Write the texts of .spacy corpora as JSONL ({"text": ...} per line), the
    input of `spacy pretrain`. The last path is the output file."""
    import srsly

    if len(paths) < 2:
        msg.fail(Errors.E704, exits=1)
    *inputs, output = paths
    guard_outputs([output], inputs)
    vocab = spacy.blank("en").vocab
    texts = [{"text": doc.text} for path in inputs for doc in read_corpus_or_exit(path, vocab)]
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    srsly.write_jsonl(tmp, texts)
    tmp.replace(output)
    msg.good(f"Wrote {len(texts)} texts to {output}")


CIN_FILES = (
    "cin_annotations/testval_annotations.json",
    "faster_rcnn_image_features/val_features_compress.hdf5",
    "faster_rcnn_image_features/val_imgid2idx.pkl",
    "faster_rcnn_image_features/val_detection_dict.json",
    "faster_rcnn_image_features/test_features_compress.hdf5",
    "faster_rcnn_image_features/test_imgid2idx.pkl",
    "faster_rcnn_image_features/test_detection_dict.json",
    "flk30k_LN.json",
    "flk30k_LN_label.h5",
)


@app.command("check-cin")
def check_cin_cli(
    data_dir: Path = typer.Argument(..., help="Folder where the CIN release has been placed."),
) -> None:
    """Check that the real CIN files (annotations, MAF region features,
    Flickr30k narrations) are in DATA_DIR, and say which are missing."""
    missing = [name for name in CIN_FILES if not (data_dir / name).exists()]
    if missing:
        msg.fail(Errors.E705.format(n_missing=len(missing), path=data_dir, names=", ".join(missing)), exits=1)
    msg.good(f"All {len(CIN_FILES)} CIN files are in {data_dir}")
