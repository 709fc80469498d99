"""Pipelines are saved through a temporary folder renamed into place: a kill
or an error during the save leaves the old pipeline whole, and nothing of an
old pipeline lingers beside a new one."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

import mcr_spacy  # noqa: F401
from mcr_spacy.errors import ConfigError
from mcr_spacy.training.io import check_outputs, save_pipeline, write_files_atomic

from ..util import coref_nlp, make_examples

REPO = Path(__file__).resolve().parents[2]


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def old_pipeline(tmp_path_factory):
    path = tmp_path_factory.mktemp("old") / "model"
    nlp = coref_nlp()
    examples = make_examples(nlp, n=3)
    nlp.initialize(lambda: examples)
    nlp.to_disk(path)
    return path


def test_a_kill_during_the_save_leaves_the_old_pipeline(old_pipeline, tmp_path):
    target = tmp_path / "model"
    subprocess.run(["cp", "-r", str(old_pipeline), str(target)], check=True)
    before = digest(target)
    script = (
        "import os, signal, spacy\n"
        "from mcr_spacy.pipeline.component import MultimodalCoref\n"
        "from mcr_spacy.training.io import save_pipeline\n"
        f"nlp = spacy.load({str(target)!r})\n"
        "def killed(self, path, exclude=()):\n"
        "    (path / 'model').parent.mkdir(parents=True, exist_ok=True)\n"
        "    (path / 'model').write_bytes(b'')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "MultimodalCoref.to_disk = killed\n"
        f"save_pipeline(nlp, {str(target)!r})\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=300)
    assert done.returncode == -9, done.stderr[-2000:]
    assert digest(target) == before
    assert spacy.load(target).pipe_names == ["multimodal_coref"]


def test_an_error_during_the_save_leaves_the_old_pipeline_and_no_temporary_folder(old_pipeline, tmp_path, monkeypatch):
    target = tmp_path / "model"
    subprocess.run(["cp", "-r", str(old_pipeline), str(target)], check=True)
    before = digest(target)
    nlp = spacy.load(target)

    def full_disk(path, exclude=()):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(nlp.get_pipe("multimodal_coref"), "to_disk", full_disk)
    with pytest.raises(OSError):
        save_pipeline(nlp, target)
    assert digest(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_saving_over_another_pipeline_leaves_none_of_its_folders(old_pipeline, tmp_path):
    target = tmp_path / "model"
    subprocess.run(["cp", "-r", str(old_pipeline), str(target)], check=True)
    other = spacy.blank("en")
    other.add_pipe("sentencizer", name="splitter")
    save_pipeline(other, target)
    assert "multimodal_coref" not in {p.name for p in target.iterdir()}
    assert spacy.load(target).pipe_names == ["splitter"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_save_refuses_a_folder_that_is_not_a_pipeline(tmp_path):
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "thesis.txt").write_text("years of work")
    with pytest.raises(ConfigError, match=r"\[E222\]"):
        save_pipeline(spacy.blank("en"), tmp_path / "documents")
    assert (tmp_path / "documents" / "thesis.txt").read_text() == "years of work"
    save_pipeline(spacy.blank("en"), tmp_path / "new")
    assert spacy.load(tmp_path / "new").lang == "en"


def test_write_files_atomic_writes_all_or_none(tmp_path):
    (tmp_path / "b.txt").mkdir()
    with pytest.raises(ConfigError, match=r"\[E223\].*b\.txt"):
        write_files_atomic({tmp_path / "a.txt": b"a", tmp_path / "b.txt": b"b"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]


def test_check_outputs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.spacy").write_bytes(b"x")
    os.link(data / "x.spacy", tmp_path / "hard.spacy")
    (tmp_path / "soft.spacy").symlink_to(data / "x.spacy")
    for output in (data / "x.spacy", data, tmp_path, tmp_path / "hard.spacy", tmp_path / "soft.spacy", data / ".." / "data"):
        with pytest.raises(ConfigError, match=r"\[E220\]"):
            check_outputs([output], [data / "x.spacy"])
    with pytest.raises(ConfigError, match=r"\[E221\]"):
        check_outputs([tmp_path / "a", tmp_path / "." / "a"], [])
    check_outputs([data / "y.spacy", tmp_path / "out"], [data / "x.spacy", None, "missing-package-name"])
