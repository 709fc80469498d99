"""The README's quick start runs as written and does what it says."""
import os
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_runs(tmp_path, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf8"), flags=re.S)
    assert blocks, "README has no python quick start"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace = {}
        exec(compile(blocks[0], "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "['A man', 'He']" in out and "['a dog', 'it']" in out
    doc = namespace["doc"]
    groundings = {s.text: s._.grounding["region"] for s in doc.spans["coref_mentions"]}
    assert groundings == {"A man": 0, "a dog": 1, "He": 0, "it": None}
    assert (tmp_path / "my_pipeline").exists()
