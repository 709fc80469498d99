"""The synthetic mouse traces: noise and lag knobs, traces for every image."""
import numpy
import pytest

from mcr_spacy.convert.traces import ln_words
from mcr_spacy.errors import ConfigError
from mcr_spacy.synthetic import generate
from mcr_spacy.synthetic.scene import Entity, Mention, Scene
from mcr_spacy.synthetic.categories import CATS
from mcr_spacy.synthetic.writers import trace_boxes

SMALL = dict(n_labelled=4, n_unlabelled=3, n_test=2, feature_width=8)


def scene():
    text = "A dog runs and a cat sits there."
    cat = next(iter(CATS.values()))
    entities = {0: Entity(0, cat, [[0, 0, 50, 100]]), 1: Entity(1, cat, [[100, 0, 200, 50]])}
    mentions = [Mention(0, 5, 0, ()), Mention(15, 20, 1, ())]
    return Scene("1", 200, 100, entities, text, mentions, numpy.zeros((0, 4)), [], [], numpy.zeros((0, 8)))


def test_exact_traces_point_at_what_is_named():
    s = scene()
    words = ln_words(s.text)
    trace = trace_boxes(numpy.random.default_rng(0), s, words, noise=0.0, lag=0.0)
    assert trace.shape == (len(words), 5)
    numpy.testing.assert_allclose(trace[0, :4], [0, 0, 0.25, 1.0])  # "a" of "A dog"
    numpy.testing.assert_allclose(trace[1, :4], [0, 0, 0.25, 1.0])  # "dog"
    numpy.testing.assert_allclose(trace[4, :4], [0.5, 0, 1.0, 0.5])  # "cat"
    numpy.testing.assert_allclose(trace[:, 4], (trace[:, 2] - trace[:, 0]) * (trace[:, 3] - trace[:, 1]), rtol=1e-6)


def test_noise_and_lag_move_the_pointer():
    s = scene()
    words = ln_words(s.text)
    exact = trace_boxes(numpy.random.default_rng(0), s, words, noise=0.0, lag=0.0)
    noisy = trace_boxes(numpy.random.default_rng(0), s, words, noise=0.05, lag=0.0)
    assert 0 < numpy.abs(noisy[:, :4] - exact[:, :4]).max() < 0.3
    shifts = set()
    for seed in range(20):
        exact = trace_boxes(numpy.random.default_rng(seed), s, words, noise=0.0, lag=0.0)
        lagged = trace_boxes(numpy.random.default_rng(seed), s, words, noise=0.0, lag=1.0)
        # the whole trace moves by one word at most, either way
        for shift in (-1, 0, 1):
            index = numpy.clip(numpy.arange(len(words)) - shift, 0, len(words) - 1)
            if numpy.allclose(lagged, exact[index]):
                shifts.add(shift)
                break
        else:
            pytest.fail(f"seed {seed}: the lagged trace is not the exact one shifted by at most a word")
    assert shifts == {-1, 0, 1}


def test_every_image_has_a_trace_and_the_knobs_are_checked(tmp_path):
    summary = generate(tmp_path, seed=1, trace_noise=0.0, trace_lag=0.0, **SMALL)
    assert summary["trace_noise"] == 0.0
    n_images = sum(summary["images"].values())
    assert len(list((tmp_path / "flk30k_LN_trace_box").glob("*.npy"))) == n_images
    with pytest.raises(ConfigError, match=r"\[E615\]"):
        generate(tmp_path / "x", trace_noise=-0.1, **SMALL)
    with pytest.raises(ConfigError, match=r"\[E616\]"):
        generate(tmp_path / "y", trace_lag=float("nan"), **SMALL)


def test_trace_settings_leave_the_rest_of_the_data_set_alone(tmp_path):
    generate(tmp_path / "a", seed=2, **SMALL)
    generate(tmp_path / "b", seed=2, trace_noise=0.2, trace_lag=3, **SMALL)
    for name in ("cin_annotations/testval_annotations.json", "faster_rcnn_image_features/val_detection_dict.json", "flk30k_LN.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
