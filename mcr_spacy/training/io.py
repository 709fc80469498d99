"""Reading and writing `.spacy` corpus files (DocBin with user data): the one
place where the package opens and writes them."""
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..errors import ConfigError, DataFormatError, Errors

FILE_SUFFIX = ".spacy"



def _usual_mode(path: Union[str, Path], mode: int) -> None:
    """Give `path` the mode new files get (mkstemp and mkdtemp make them private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def write_bytes_atomic(data: bytes, path: Union[str, Path]) -> None:
    """Write bytes to `path` through a temporary file and a rename."""
    write_files_atomic({path: data})


def write_files_atomic(files: Dict[Union[str, Path], bytes]) -> None:
    """Write several files all or none: every file's bytes go to a temporary
    file beside it first (where a full disk or a missing permission shows),
    and only when all are complete are they renamed into place. An output
    that cannot be written raises ConfigError (E223) naming it."""
    temps: List[tuple] = []
    try:
        for path, data in files.items():
            path = Path(path)
            try:
                if path.is_dir():
                    raise IsADirectoryError(errno.EISDIR, "it is a folder")
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
                temps.append((tmp, path))
                with os.fdopen(fd, "wb") as file_:
                    file_.write(data)
                    file_.flush()
                    os.fsync(file_.fileno())
                _usual_mode(tmp, 0o666)
            except OSError as err:
                raise ConfigError(Errors.E223.format(path=str(path), error=err.strerror or err)) from err
        for tmp, path in temps:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise


def check_outputs(outputs: Sequence[Any], inputs: Sequence[Any]) -> None:
    """Refuse outputs that would overwrite an input: an output that resolves
    to an input (symbolic or hard links included) or to a folder holding one,
    and two outputs that are the same path. Inputs that do not exist (or are
    None, e.g. an installed pipeline's name) have nothing to lose. Raises
    ConfigError (E220, E221) before anything is written."""
    outs = [Path(o) for o in outputs if o is not None and str(o) != ""]
    ins = [Path(i) for i in inputs if i is not None and str(i) != "" and Path(i).exists()]
    for out in outs:
        resolved = out.resolve()
        for inp in ins:
            target = inp.resolve()
            if resolved == target or resolved in target.parents or (out.exists() and os.path.samefile(out, inp)):
                raise ConfigError(Errors.E220.format(output=str(out), input=str(inp)))
    for i, first in enumerate(outs):
        for second in outs[i + 1:]:
            if first.resolve() == second.resolve():
                raise ConfigError(Errors.E221.format(first=str(first), second=str(second)))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step where the system can (Linux renameat2
    with RENAME_EXCHANGE); False where it cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


def replace_folder(new: Path, path: Path) -> None:
    """Put the folder `new` at `path`, replacing the folder there. Where the
    system can swap two paths in one step the old folder is at `path` until
    the swap; elsewhere it is moved aside (`.NAME.old-*` beside it) and only
    deleted once the new one is in place."""
    if not path.exists():
        os.replace(new, path)
        return
    if _exchange(new, path):
        shutil.rmtree(new)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=str(path.parent)))
    old.rmdir()
    os.replace(path, old)
    try:
        os.replace(new, path)
    except BaseException:
        os.replace(old, path)
        raise
    shutil.rmtree(old)


def copy_folder(source: Union[str, Path], path: Union[str, Path]) -> None:
    """Copy the folder `source` to `path` atomically (`replace_folder`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent)))
    try:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        _usual_mode(tmp, 0o777)
        replace_folder(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save_pipeline(nlp: Any, path: Union[str, Path]) -> None:
    """`nlp.to_disk(path)` atomically: the pipeline is written to a temporary
    folder beside `path`, then renamed into place (`replace_folder`), so that
    a kill or a full disk leaves the old pipeline whole and nothing of it
    lingers beside the new one. Refuses (E222) a `path` that exists and is
    neither an empty folder nor a saved pipeline."""
    path = Path(path)
    if path.exists() and not (path.is_dir() and ((path / "config.cfg").exists() or not any(path.iterdir()))):
        raise ConfigError(Errors.E222.format(path=str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent)))
    try:
        nlp.to_disk(tmp)
        _usual_mode(tmp, 0o777)
        replace_folder(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


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
            docs = DocBin().from_disk(path).get_docs(vocab)
        except Exception as err:  # zlib, msgpack or format errors of a damaged file
            raise _damaged_corpus(path, err) from err
        while not (limit >= 1 and n >= limit):
            try:
                doc = next(docs)
            except StopIteration:
                break
            except Exception as err:  # a damaged doc inside a readable file
                raise _damaged_corpus(path, err) from err
            yield doc
            n += 1


def _damaged_corpus(path: Path, err: Exception) -> DataFormatError:
    return DataFormatError(Errors.E204.format(path=str(path), error=f"{type(err).__name__}: {err}"))


def read_corpus(
    path: Optional[Union[str, Path]], vocab: Vocab, *, limit: int = 0, what: str = "Corpus path"
) -> List[Doc]:
    """Every doc of a `.spacy` file or of a folder of them (`corpus_files`),
    at most `limit` of them (0: all)."""
    return list(read_docs(corpus_files(path, what=what), vocab, limit))


def docbin_bytes(docs: Iterable[Doc]) -> bytes:
    """The bytes of a `.spacy` file holding `docs` with their `doc._` data."""
    docbin = DocBin(store_user_data=True)
    for doc in docs:
        docbin.add(doc)
    return docbin.to_bytes()


def write_docbin(docs: Iterable[Doc], path: Union[str, Path]) -> int:
    """Write docs to a `.spacy` file atomically (a temporary file in the same
    folder, renamed when complete), keeping `doc._` data. Returns the count."""
    return write_docbins({path: docs})[0]


def write_docbins(corpora: Dict[Union[str, Path], Iterable[Doc]]) -> List[int]:
    """Write several `.spacy` files all or none (`write_files_atomic`).
    Returns the number of docs in each."""
    counts, files = [], {}
    for path, docs in corpora.items():
        docs = list(docs)
        counts.append(len(docs))
        files[path] = docbin_bytes(docs)
    write_files_atomic(files)
    return counts
