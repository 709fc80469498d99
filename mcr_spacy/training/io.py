"""Reading and writing `.spacy` corpus files (DocBin with user data): the one
place where the package opens and writes them."""
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..errors import ConfigError, DataFormatError, Errors

FILE_SUFFIX = ".spacy"



def write_bytes_atomic(data: bytes, path: Union[str, Path]) -> None:
    """Write bytes to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as file_:
            file_.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

def corpus_files(path: Optional[Union[str, Path]], *, what: str = "Corpus path") -> List[Path]:
    """The `.spacy` file at `path`, or every `.spacy` file under a folder
    (sorted). Refuses a missing path or a folder without `.spacy` files.

    what: how messages name the path, e.g. "Corpus labelled_path".
    """
    if path is None or str(path) == "":
        raise ConfigError(Errors.E201.format(what=what))
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob(f"*{FILE_SUFFIX}") if p.is_file())
        if found:
            return found
        raise ConfigError(Errors.E202.format(what=what, path=str(path)))
    raise ConfigError(Errors.E203.format(what=what, path=str(path)))


def read_docs(files: Iterable[Path], vocab: Vocab, limit: int = 0) -> Iterator[Doc]:
    """The docs stored in `.spacy` files, with their user data (`doc._`
    attributes such as `image_regions`), at most `limit` of them (0: all).
    A file that cannot be read raises DataFormatError (E204) naming it."""
    n = 0
    for path in files:
        try:
            # Reading restores user data whatever `store_user_data` says.
            docbin = DocBin().from_disk(path)
        except Exception as err:  # zlib, msgpack or format errors of a damaged file
            raise DataFormatError(
                Errors.E204.format(path=str(path), error=f"{type(err).__name__}: {err}")
            ) from err
        for doc in docbin.get_docs(vocab):
            yield doc
            n += 1
            if limit >= 1 and n >= limit:
                return


def read_corpus(
    path: Optional[Union[str, Path]], vocab: Vocab, *, limit: int = 0, what: str = "Corpus path"
) -> List[Doc]:
    """Every doc of a `.spacy` file or of a folder of them (`corpus_files`),
    at most `limit` of them (0: all)."""
    return list(read_docs(corpus_files(path, what=what), vocab, limit))


def write_docbin(docs: Iterable[Doc], path: Union[str, Path]) -> int:
    """Write docs to a `.spacy` file atomically (a temporary file in the same
    folder, renamed when complete), keeping `doc._` data. Returns the count."""
    docbin = DocBin(store_user_data=True)
    n = 0
    for doc in docs:
        docbin.add(doc)
        n += 1
    write_bytes_atomic(docbin.to_bytes(), path)
    return n
