"""Per-token trace layout: both trace sources, attach-traces and shuffle-traces."""
import numpy
import pytest
import spacy
from typer.testing import CliRunner

from mcr_spacy import ImageRegions
from mcr_spacy.cli import app
from mcr_spacy.convert.common import ConversionReport
from mcr_spacy.convert.traces import (
    attach_traces, boxes_on_tokens, fit_word_trace, ln_words, shuffle_traces, utterance_spans,
)
from mcr_spacy.errors import DataFormatError
from mcr_spacy.training.io import read_corpus, write_docbin


def word_boxes(n):
    """n distinct boxes: row i is [i/10, 0, i/10 + 0.05, 0.5, area]."""
    out = numpy.zeros((n, 5), dtype="float32")
    for i in range(n):
        out[i] = [i / 10, 0.0, i / 10 + 0.05, 0.5, 0.05 * 0.5]
    return out


def make_doc(nlp, text, image_id="7"):
    doc = nlp.make_doc(text)
    doc._.image_regions = ImageRegions(numpy.asarray([[0, 0, 10, 10]], dtype="float32"), labels=["dog"], image_size=(20, 20), image_id=image_id)
    return doc


def test_ln_words_drop_punctuation_and_keep_offsets():
    text = "In this image, we see a man's dog."
    words = ln_words(text)
    assert [w for w, _, _ in words] == ["in", "this", "image", "we", "see", "a", "man's", "dog"]
    assert all(text[s:e].lower() == w for w, s, e in words)


def test_word_boxes_go_to_every_token_of_their_word():
    nlp = spacy.blank("en")
    doc = nlp.make_doc("A man's dog.")  # tokens: A man 's dog .
    words = ln_words(doc.text)
    trace = boxes_on_tokens(doc, [(s, e) for _, s, e in words], word_boxes(len(words)))
    assert trace.shape == (len(doc), 5)
    assert [t.text for t in doc] == ["A", "man", "'s", "dog", "."]
    numpy.testing.assert_array_equal(trace[1], trace[2])  # "man" and "'s": the word "man's"
    numpy.testing.assert_array_equal(trace[3], word_boxes(3)[2])
    assert not trace[4].any()  # punctuation: no word, no box


def test_utterances_are_found_in_order():
    caption = "A dog. The dog runs, a dog barks."
    spans = utterance_spans(caption, ["a dog", "the dog.", "runs", "cat", "a dog"])
    assert [caption[s:e] if (s, e) != (None, None) else None for s, e in [sp or (None, None) for sp in spans]] == [
        "A dog", "The dog", "runs", None, "a dog"
    ]
    assert spans[4][0] > spans[2][0]  # the second "a dog", after "runs"


def test_fit_word_trace_cuts_long_traces_and_refuses_short_ones():
    report = ConversionReport("test")
    assert fit_word_trace(word_boxes(5), 3, report).shape == (3, 5)
    assert report.kept["trace rows past the narration's last word, dropped"] == 2
    assert fit_word_trace(word_boxes(2), 3, report) is None
    assert report.skipped["traces with fewer word boxes than the narration has words"] == 1
    with pytest.raises(DataFormatError, match=r"\[E470\].*image 9"):
        fit_word_trace(word_boxes(2), 3, report, strict=True, where="t/9.npy", image_id="9")


def test_attach_and_shuffle_traces(tmp_path):
    nlp = spacy.blank("en")
    trace_dir = tmp_path / "flk30k_LN_trace_box"
    trace_dir.mkdir()
    numpy.save(trace_dir / "7.npy", word_boxes(4))
    numpy.save(trace_dir / "8.npy", word_boxes(1))
    docs = [make_doc(nlp, "A dog, a cat.", "7"), make_doc(nlp, "Two men.", "8"), make_doc(nlp, "A bird.", "9")]
    docs[2]._.trace_boxes = numpy.ones((len(docs[2]), 5), dtype="float32")
    report = attach_traces(docs, trace_dir)
    trace = numpy.asarray(docs[0]._.trace_boxes)
    assert trace.shape == (len(docs[0]), 5)
    numpy.testing.assert_array_equal(trace[[0, 1, 3, 4]], word_boxes(4))
    assert not trace[[2, 5]].any()
    assert docs[1]._.trace_boxes is None  # one box for two words: skipped
    assert docs[2]._.trace_boxes is None  # no file: the old traces are gone
    assert report.kept["docs with trace boxes"] == 1
    assert report.skipped["docs whose image has no trace file"] == 1
    with pytest.raises(DataFormatError, match=r"\[E470\]"):
        attach_traces(docs, trace_dir, strict=True)
    attach_traces(docs, trace_dir)
    before = numpy.asarray(docs[0]._.trace_boxes).copy()
    shuffle_traces(docs, seed=3)
    after = numpy.asarray(docs[0]._.trace_boxes)
    assert not numpy.array_equal(before, after)
    assert sorted(map(tuple, before.tolist())) == sorted(map(tuple, after.tolist()))


def test_attach_traces_command(tmp_path):
    nlp = spacy.blank("en")
    trace_dir = tmp_path / "traces"
    trace_dir.mkdir()
    numpy.save(trace_dir / "7.npy", word_boxes(4))
    write_docbin([make_doc(nlp, "A dog, a cat.", "7")], tmp_path / "in.spacy")
    result = CliRunner().invoke(app, ["attach-traces", str(tmp_path / "in.spacy"), str(trace_dir), str(tmp_path / "out.spacy")])
    assert result.exit_code == 0, result.output
    doc = read_corpus(tmp_path / "out.spacy", nlp.vocab)[0]
    assert numpy.asarray(doc._.trace_boxes).shape == (len(doc), 5)
    result = CliRunner().invoke(app, ["shuffle-traces", str(tmp_path / "out.spacy"), str(tmp_path / "shuffled.spacy")])
    assert result.exit_code == 0, result.output
    # outputs never overwrite inputs
    result = CliRunner().invoke(app, ["shuffle-traces", str(tmp_path / "out.spacy"), str(tmp_path / "out.spacy")])
    assert result.exit_code == 1
    help_text = CliRunner().invoke(app, ["convert-ln", "--help"]).output
    assert "trace_boxes" in help_text and "per token" in help_text
