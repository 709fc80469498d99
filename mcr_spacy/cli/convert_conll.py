"""`python -m mcr_spacy convert-conll`: CoNLL-2012 coreference files to `.spacy`."""
from pathlib import Path

import typer
from wasabi import msg

from ..convert.conll import convert_conll
from ..errors import MultimodalCorefError
from ._util import GOLD_MENTIONS_KEY_OPTION, LANG_OPTION, SPAN_CLUSTER_PREFIX_OPTION, app, guard_outputs


@app.command("convert-conll")
def convert_conll_cli(
    input_path: Path = typer.Argument(
        ..., help="A CoNLL-2012 file, or a folder of them (names ending in 'conll', '.key', '.response')."
    ),
    output_path: Path = typer.Argument(..., help="Output .spacy file (written atomically)."),
    lang: str = LANG_OPTION,
    span_cluster_prefix: str = SPAN_CLUSTER_PREFIX_OPTION,
    mentions_key: str = GOLD_MENTIONS_KEY_OPTION,
) -> None:
    """Convert CoNLL-2012 coreference files to a .spacy corpus, one doc per
    document part.

    Documents lie between '#begin document (NAME); part NNN' (parentheses and
    part optional) and
    '#end document' lines. One token per line, a blank line between
    sentences, columns separated by whitespace: the word in the 4th column,
    the coreference column last. Files with fewer than 4 columns (e.g. the
    reference scorer's 2-column key/response test files) get placeholder words
    w0, w1, ... . The coreference column is '-' or a sequence of '(ID' (a
    mention starts), 'ID)' (it ends) and '(ID)' (a one-token mention),
    optionally joined by '|', e.g. '(12', '12)', '(12)|(3'. Each entity
    becomes doc.spans['PREFIX_i'] (in order of first appearance), every mention
    is also in doc.spans[KEY], and the document name-part is in
    doc.user_data['doc_key']. A mention repeated within an entity is kept once,
    and one given to two entities stays in the first (as the reference scorer
    does); both are reported.
    """
    guard_outputs([output_path], [input_path])
    try:
        report = convert_conll(
            input_path, output_path, lang=lang, span_cluster_prefix=span_cluster_prefix, mentions_key=mentions_key
        )
    except MultimodalCorefError as err:
        msg.fail("Conversion failed, nothing written", str(err), exits=1)
    report.print()
    msg.good(f"Wrote {report.kept['docs']} docs to {output_path}")
