"""Corpus preparation: splitting a corpus, and finding the mentions of
unlabelled narrations with a trained mention detector."""
import random
from pathlib import Path
from typing import List, Optional

import spacy
import typer
from spacy.tokens import DocBin, SpanGroup
from wasabi import msg

from ..convert.common import ConversionReport, write_docbin
from ..corpus import corpus_files
from . import app


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
        msg.fail(f"--fraction must be between 0 and 1, got {fraction}.", exits=1)
    nlp = spacy.blank("en")
    docs = [doc for path in corpus_files(input_path) for doc in DocBin().from_disk(path).get_docs(nlp.vocab)]
    random.Random(seed).shuffle(docs)
    cut = max(1, min(len(docs) - 1, round(len(docs) * fraction)))
    n1 = write_docbin(docs[:cut], first_path)
    n2 = write_docbin(docs[cut:], second_path)
    msg.good(f"Wrote {n1} docs to {first_path} and {n2} docs to {second_path}")


@app.command("annotate-mentions")
def annotate_mentions_cli(
    model: str = typer.Argument(..., help="A pipeline whose entity recognizer finds mentions (e.g. trained with configs/mentions.cfg)."),
    input_path: Path = typer.Argument(..., help="A .spacy file (or folder of them) of narrations."),
    output_path: Path = typer.Argument(..., help="Output .spacy file: the same docs with doc.spans[KEY] set."),
    key: str = typer.Option("mentions", "--key", help="doc.spans key the mentions are written to."),
    labels: Optional[List[str]] = typer.Option(None, "--label", help="Entity labels taken as mentions (default: all)."),
    batch_size: int = typer.Option(64, "--batch-size"),
) -> None:
    """Find the mentions of each doc with a trained mention detector and store
    them in `doc.spans[KEY]`, keeping everything else on the doc (regions,
    trace boxes). Docs that already have KEY are left as they are."""
    nlp = spacy.load(model)
    docs = [doc for path in corpus_files(input_path) for doc in DocBin().from_disk(path).get_docs(nlp.vocab)]
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
