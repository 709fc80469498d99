"""convert-conll: CoNLL-2012 coreference files to .spacy."""
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

import mcr_spacy  # noqa: F401  (installs the extensions)
from mcr_spacy.cli import app
from mcr_spacy.convert.conll import convert_conll, read_conll
from mcr_spacy.errors import DataFormatError
from mcr_spacy.annotation.clusters import get_clusters
from mcr_spacy.training.io import read_corpus

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CASES = DATA / "coref-scorer-cases" / "datafiles"

# Two document parts in the 12+ column CoNLL-2012 layout (word in column 4,
# coreference last): nested mentions, `|`-joined values, a mention over
# several lines, singletons and a mention of one token that also opens another.
ONTONOTES = """\
#begin document (bc/demo/00/demo_0001); part 000
bc/demo/00/demo_0001  0  0  A      DT   (TOP(S(NP*  -  -  -  spk1  *  (0
bc/demo/00/demo_0001  0  1  man    NN   *)          -  -  -  spk1  *  0)
bc/demo/00/demo_0001  0  2  holds  VBZ  (VP*        -  -  -  spk1  *  -
bc/demo/00/demo_0001  0  3  his    PRP$ (NP*        -  -  -  spk1  *  (0)|(1
bc/demo/00/demo_0001  0  4  dog    NN   *)          -  -  -  spk1  *  1)
bc/demo/00/demo_0001  0  5  .      .    *))         -  -  -  spk1  *  -

bc/demo/00/demo_0001  0  0  It     PRP  (TOP(S(NP*) -  -  -  spk1  *  (1)
bc/demo/00/demo_0001  0  1  likes  VBZ  (VP*        -  -  -  spk1  *  -
bc/demo/00/demo_0001  0  2  the    DT   (NP*        -  -  -  spk1  *  (2
bc/demo/00/demo_0001  0  3  park   NN   *)))        -  -  -  spk1  *  2)
bc/demo/00/demo_0001  0  4  .      .    *))         -  -  -  spk1  *  -

#end document
#begin document (bc/demo/00/demo_0001); part 001
bc/demo/00/demo_0001  1  0  Rain   NN   (TOP(S(NP*) -  -  -  spk2  *  (7)
bc/demo/00/demo_0001  1  1  fell   VBD  (VP*)       -  -  -  spk2  *  -
bc/demo/00/demo_0001  1  2  .      .    *))         -  -  -  spk2  *  -
#end document
"""


def read_docs(path):
    nlp = spacy.blank("en")
    return read_corpus(path, nlp.vocab)


def texts(doc):
    return [[span.text for span in cluster] for cluster in get_clusters(doc)]


def test_document_parts_tokens_sentences_and_clusters(tmp_path):
    src = tmp_path / "demo.gold_conll"
    src.write_text(ONTONOTES, encoding="utf8")
    report = convert_conll(src, tmp_path / "out.spacy")
    first, second = read_docs(tmp_path / "out.spacy")
    assert first.user_data["doc_key"] == "bc/demo/00/demo_0001-000"
    assert second.user_data["doc_key"] == "bc/demo/00/demo_0001-001"
    assert first.text == "A man holds his dog . It likes the park ."
    assert [s.start for s in first.sents] == [0, 6]
    assert texts(first) == [["A man", "his"], ["his dog", "It"], ["the park"]]
    assert texts(second) == [["Rain"]]
    assert [s.text for s in first.spans["mentions"]] == ["A man", "his", "his dog", "It", "the park"]
    assert report.kept["docs"] == 2
    assert report.kept["clusters"] == 4 and report.kept["mentions"] == 6
    assert report.kept["singleton clusters"] == 2
    assert not report.skipped


def test_nested_same_entity_and_joined_values(tmp_path):
    src = tmp_path / "nested.conll"
    src.write_text(
        "#begin document (n);\n"
        "n 0 0 the (3|(3\n"
        "n 0 1 man 3)\n"
        "n 0 2 'supporters 3)(4)\n"
        "n 0 3 left -\n"
        "#end document\n",
        encoding="utf8",
    )
    (doc,) = read_conll(src, spacy.blank("en").vocab)
    assert [[(s.start, s.end) for s in c] for c in get_clusters(doc)] == [[(0, 2), (0, 3)], [(2, 3)]]


def test_begin_line_variants(tmp_path):
    src = tmp_path / "variants.conll"
    src.write_text(
        "#begin document (a b); part 002\nx 0 0 Hi (1)\n#end document\n"
        "#begin document plain_name\nx 0 0 Yo -\n#end document\n",
        encoding="utf8",
    )
    first, second = read_conll(src, spacy.blank("en").vocab)
    assert first.user_data["doc_key"] == "a b-002" and texts(first) == [["Hi"]]
    assert second.user_data["doc_key"] == "plain_name" and second.text == "Yo"


def test_two_column_files_get_placeholder_words(tmp_path):
    src = tmp_path / "case.key"
    src.write_text(
        "#begin document (d); part 000\nd -\nd (5\nd 5)\n\nd (5)\n#end document\n",
        encoding="utf8",
    )
    report = convert_conll(src, tmp_path / "out.spacy")
    (doc,) = read_docs(tmp_path / "out.spacy")
    assert [t.text for t in doc] == ["w0", "w1", "w2", "w3"]
    assert [s.start for s in doc.sents] == [0, 3]
    assert texts(doc) == [["w1 w2", "w3"]]
    assert report.skipped["docs without a word column (placeholder words w0, w1, ...)"] == 1


@pytest.mark.parametrize(
    "body,expected",
    [
        ("#begin document (d);\nd 0 0 a (1\nd 0 1 b -\n#end document\n", ["line 2", "entity 1", "never closed"]),
        ("#begin document (d);\nd 0 0 a -\nd 0 1 b 1)\n#end document\n", ["line 3", "'1)'", "never opened"]),
        ("#begin document (d);\nd 0 0 a ((1\n#end document\n", ["line 2", "'((1'"]),
        ("#begin document (d);\nd 0 0 a 12\n#end document\n", ["line 2", "'12'"]),
        ("d 0 0 a -\n", ["line 1", "outside a document"]),
        ("#begin document (d);\nd 0 0 a -\n", ["'d'", "line 1", "no '#end document'"]),
        ("#begin document (d);\nd 0 0 a -\n#begin document (e);\n", ["line 3", "inside document 'd'"]),
        ("#end document\n", ["line 1", "without a '#begin document'"]),
        ("#begin document (d);\nlonely\n#end document\n", ["line 2", "at least 2 columns"]),
        ("just text\n\n", ["line 1", "outside a document"]),
        ("", ["no '#begin document"]),
        ("#begin document (demo\nd 0 0 a -\n#end document\n", ["line 1", "malformed"]),
        ("#begin document (d);\nd 0 0 caf\xe9 -\n#end document\n", ["line 2", "not UTF-8"]),
    ],
)
def test_malformed_input_names_the_line_and_writes_nothing(tmp_path, body, expected):
    src = tmp_path / "bad.conll"
    src.write_bytes(body.encode("utf8") if "\xe9" not in body else body.encode("latin-1"))
    with pytest.raises(DataFormatError) as err:
        convert_conll(src, tmp_path / "out.spacy")
    assert "bad.conll" in str(err.value)
    for text in expected:
        assert text in str(err.value)
    assert list(tmp_path.iterdir()) == [src]


def test_error_in_second_file_of_a_folder_writes_nothing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.gold_conll").write_text(ONTONOTES, encoding="utf8")
    (folder / "b.gold_conll").write_text("#begin document (d);\nd 0 0 a (1\n#end document\n", encoding="utf8")
    out = tmp_path / "out.spacy"
    with pytest.raises(DataFormatError, match="b.gold_conll"):
        convert_conll(folder, out)
    assert not out.exists()
    (folder / "b.gold_conll").unlink()
    convert_conll(folder, out)
    assert len(read_docs(out)) == 2


def test_cli_converts_and_fails_cleanly(tmp_path):
    runner = CliRunner()
    src = tmp_path / "demo.gold_conll"
    src.write_text(ONTONOTES, encoding="utf8")
    out = tmp_path / "out.spacy"
    result = runner.invoke(app, ["convert-conll", str(src), str(out)])
    assert result.exit_code == 0, result.output
    before = out.read_bytes()
    src.write_text(ONTONOTES.replace("1)\n", "-\n", 1), encoding="utf8")
    result = runner.invoke(app, ["convert-conll", str(src), str(out)])
    assert result.exit_code == 1
    assert "never closed" in " ".join(result.output.split())
    assert out.read_bytes() == before
    help_text = " ".join(runner.invoke(app, ["convert-conll", "--help"]).output.split())
    for word in ("#begin document", "coreference column", "(12", "2-column"):
        assert word in help_text


def _scorch_clusters(path, doc):
    """Clusters of `path` as the scorch package's own CoNLL reader reads them,
    as token spans of `doc` (its sentence starts map block-relative rows)."""
    scorch_conll = pytest.importorskip("scorch.conll")
    with path.open(encoding="utf8") as file_:
        ((_, entities),) = list(scorch_conll.parse_file(file_))
    starts = [sent.start for sent in doc.sents]
    return [
        sorted((starts[b] + int(s), starts[b] + int(e) + 1) for b, s, e in mentions)
        for mentions in entities.values()
        if mentions
    ]


# Entity counts stated by the reference scorer's test-case documentation.
KNOWN_COUNTS = {
    "TC-A.key": (3, 6), "TC-A-9.response": (4, 7), "TC-A-10.response": (6, 6),
    "TC-A-11.response": (1, 6), "TC-B.key": (2, 5), "TC-M.key": (1, 6), "TC-N.key": (6, 6),
}


def test_reference_scorer_cases_convert_with_the_right_clusters(tmp_path):
    if not CASES.exists():
        pytest.skip(f"reference scorer test cases not found at {CASES}")
    files = sorted(p for p in CASES.iterdir() if p.name.startswith("TC-"))
    assert len(files) >= 40
    nlp = spacy.blank("en")
    for path in files:
        (doc,) = read_conll(path, nlp.vocab)
        got = [[(s.start, s.end) for s in c] for c in get_clusters(doc)]
        assert got == _scorch_clusters(path, doc), path.name
        if path.name in KNOWN_COUNTS:
            n_mentions = sum(len(c) for c in got)
            assert (len(got), n_mentions) == KNOWN_COUNTS[path.name], path.name
    report = convert_conll(CASES, tmp_path / "cases.spacy")
    docs = read_docs(tmp_path / "cases.spacy")
    assert len(docs) == len(files) == report.kept["docs"]
    # TC-A-9 gives one mention to entity 1 and ten times to entity 3
    assert report.skipped["mention repeated within its cluster (kept once)"] >= 1
    assert report.skipped["mention already in an earlier cluster (kept there only)"] >= 1
