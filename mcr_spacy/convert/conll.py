"""Convert CoNLL-2012 coreference files to `.spacy`.

A file holds documents between `#begin document (NAME); part NNN` (the
parentheses and the part may be left out) and `#end document` lines; each part becomes one Doc. Inside a document, each
non-blank line is a token and a blank line ends a sentence. Columns are
separated by whitespace: the word is the 4th column and the coreference column
is the last. Files with fewer than 4 columns (such as the reference scorer's
2-column key/response test files: document id and coreference) have no word
column; their tokens get the placeholder words `w0`, `w1`, ... .

The coreference column is `-` (no mention) or a sequence of `(ID` (a mention
of entity ID starts here), `ID)` (one ends here) and `(ID)` (a one-token
mention), optionally joined by `|`, e.g. `(12`, `12)`, `(12)|(3`.
Mentions may nest; a closing `ID)` ends the last open mention of ID.
"""
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..defaults import CLUSTER_PREFIX, GOLD_MENTIONS_KEY
from ..errors import DataFormatError
from .common import ConversionReport, convert_file
from .token_docs import doc_from_token_clusters, read_text_lines

BEGIN_RE = re.compile(
    r"^#\s*begin document\s*(?:\((.*)\)|([^\s();]+))\s*;?\s*(?:part\s+(\S+))?\s*$"
)
END_RE = re.compile(r"^#\s*end document\b")
COREF_RE = re.compile(r"\(([^()|\s]+)\)|\(([^()|\s]+)|([^()|\s]+)\)|\|")
COREF_FULL_RE = re.compile(r"(?:\([^()|\s]+\)|\([^()|\s]+|[^()|\s]+\)|\|)+")
EMPTY_VALUES = ("-", "_")
WORD_COLUMN = 3
# File names taken from a folder given as input.
CONLL_SUFFIXES = ("conll", ".key", ".response")


def convert_conll(input_path: Union[str, Path], output_path: Union[str, Path], **options: Any) -> ConversionReport:
    """Convert a CoNLL-2012 file, or every CoNLL file in a folder, to one
    `.spacy` file (written atomically: on an error nothing is written).
    `options`: `lang` (of the blank vocab) and the keyword arguments of
    `read_conll`."""
    return convert_file(read_conll_paths, "convert-conll", input_path, output_path, **options)


def read_conll_paths(path: Union[str, Path], vocab: Vocab, **options: Any) -> Iterator[Doc]:
    """The docs of a CoNLL-2012 file, or of every CoNLL file in a folder
    (`conll_paths`), read with `read_conll(..., **options)`."""
    for file in conll_paths(path):
        yield from read_conll(file, vocab, **options)


def conll_paths(path: Union[str, Path]) -> List[Path]:
    """The input file, or the CoNLL files in a folder (sorted, recursively)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(
            p for p in path.rglob("*") if p.is_file() and p.name.endswith(CONLL_SUFFIXES)
        )
        if not found:
            raise DataFormatError(
                f"Folder {str(path)!r} holds no CoNLL file (names ending in "
                f"{', '.join(CONLL_SUFFIXES)}). Give a CoNLL-2012 file or a folder of them."
            )
        return found
    raise DataFormatError(
        f"CoNLL input {str(path)!r} does not exist. Give a CoNLL-2012 file or a folder of them."
    )


class _Document:
    """A document part being read: tokens, sentences and open mentions."""

    def __init__(self, name: str, part: Optional[str], line_no: int) -> None:
        self.name = name
        self.part = part
        self.line_no = line_no
        self.sentences: List[List[str]] = [[]]
        self.n_tokens = 0
        self.has_words = True
        # entity id -> its mentions (token start, end exclusive), in order of first opening
        self.entities: Dict[str, List[Tuple[int, int]]] = {}
        self.open: Dict[str, List[Tuple[int, int]]] = {}  # id -> stack of (start token, line)

    @property
    def key(self) -> str:
        return self.name if self.part is None else f"{self.name}-{self.part}"


def read_conll(
    path: Union[str, Path],
    vocab: Vocab,
    *,
    report: Optional[ConversionReport] = None,
    span_cluster_prefix: str = CLUSTER_PREFIX,
    mentions_key: str = GOLD_MENTIONS_KEY,
) -> Iterator[Doc]:
    """Yield one Doc per document part of a CoNLL-2012 file, with gold clusters
    in `doc.spans["{span_cluster_prefix}_{i}"]` (in the order entities are first opened),
    gold mentions in `doc.spans[mentions_key]` and the document name (and part)
    in `doc.user_data["doc_key"]`."""
    path = Path(path)
    if report is None:
        report = ConversionReport(f"conll {path.name}")
    if not path.is_file():
        raise DataFormatError(f"CoNLL input {str(path)!r} does not exist or is not a file.")
    document: Optional[_Document] = None
    n_docs = 0
    for line_no, line in read_text_lines(path):
        where = f"{path}, line {line_no}"
        stripped = line.strip()
        if stripped.startswith("#"):
            begin = BEGIN_RE.match(stripped)
            if begin:
                if document is not None:
                    raise DataFormatError(
                        f"{where}: '#begin document' inside document "
                        f"{document.key!r} opened at line {document.line_no}, "
                        f"which has no '#end document'. Add the missing line."
                    )
                name = begin.group(1) if begin.group(1) is not None else begin.group(2)
                document = _Document(name, begin.group(3), line_no)
            elif stripped.replace(" ", "").startswith("#begindocument"):
                raise DataFormatError(
                    f"{where}: malformed line {stripped!r}; expected "
                    f"'#begin document (NAME); part NNN'."
                )
            elif END_RE.match(stripped):
                if document is None:
                    raise DataFormatError(
                        f"{where}: '#end document' without a '#begin document' before it."
                    )
                yield _finish(document, vocab, path, report, span_cluster_prefix, mentions_key)
                n_docs += 1
                document = None
            continue  # other comment lines carry no tokens
        if not stripped:
            if document is not None and document.sentences[-1]:
                document.sentences.append([])
            continue
        if document is None:
            raise DataFormatError(
                f"{where}: token line outside a document. Tokens must lie between "
                f"'#begin document (NAME);' and '#end document' lines."
            )
        _read_token(document, stripped.split(), where)
    if document is not None:
        raise DataFormatError(
            f"{path}: document {document.key!r} opened at line {document.line_no} has "
            f"no '#end document' line. Add it, or check that the file is complete."
        )
    if n_docs == 0:
        raise DataFormatError(
            f"{path}: no '#begin document (NAME);' line found, so no document. Is this "
            f"a CoNLL-2012 file?"
        )


def _read_token(document: _Document, columns: List[str], where: str) -> None:
    if len(columns) < 2:
        raise DataFormatError(
            f"{where}: a token line needs at least 2 columns (the coreference column "
            f"last); found {len(columns)}: {' '.join(columns)!r}."
        )
    token = document.n_tokens
    if len(columns) > WORD_COLUMN:
        word = columns[WORD_COLUMN]
    else:
        document.has_words = False
        word = f"w{token}"
    document.sentences[-1].append(word)
    document.n_tokens += 1
    value = columns[-1]
    if value in EMPTY_VALUES:
        return
    if not COREF_FULL_RE.fullmatch(value):
        raise DataFormatError(
            f"{where}: coreference column {value!r} is not '-' or a sequence of "
            f"'(ID', 'ID)' and '(ID)', optionally joined by '|'."
        )
    for match in COREF_RE.finditer(value):
        single, opening, closing = match.groups()
        if single is not None:
            document.entities.setdefault(single, []).append((token, token + 1))
        elif opening is not None:
            document.entities.setdefault(opening, [])
            document.open.setdefault(opening, []).append((token, where))
        elif closing is not None:
            stack = document.open.get(closing)
            if not stack:
                raise DataFormatError(
                    f"{where}: '{closing})' closes a mention of entity {closing} "
                    f"that was never opened in document {document.key!r}. Add the "
                    f"matching '({closing}' or remove this one."
                )
            start, _ = stack.pop()
            document.entities[closing].append((start, token + 1))


def _finish(
    document: _Document,
    vocab: Vocab,
    path: Path,
    report: ConversionReport,
    span_cluster_prefix: str,
    mentions_key: str,
) -> Doc:
    for entity, stack in document.open.items():
        if stack:
            _, opened = stack[-1]
            raise DataFormatError(
                f"{opened}: mention of entity {entity} opened here is never closed "
                f"before the end of document {document.key!r}. Add the matching "
                f"'{entity})'."
            )
    if not document.has_words:
        report.skip("docs without a word column (placeholder words w0, w1, ...)")
    sentences = [sentence for sentence in document.sentences if sentence]
    if not sentences:
        report.skip("documents without tokens (converted as empty docs)")
    clusters = [sorted(mentions) for mentions in document.entities.values()]
    return doc_from_token_clusters(
        vocab,
        sentences,
        clusters,
        doc_key=document.key,
        where=f"{path}, document {document.key!r} (line {document.line_no})",
        report=report,
        span_cluster_prefix=span_cluster_prefix,
        mentions_key=mentions_key,
    )
