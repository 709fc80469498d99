"""`python -m mcr_spacy synth`: the synthetic demo data set in the CIN formats."""
from pathlib import Path

import typer
from wasabi import msg

from ..synthetic import DEFAULT_FEATURE_WIDTH, generate
from ._util import app


@app.command("synth")
def synth_cli(
    out_dir: Path = typer.Argument(..., help="Folder to write the data set to (created if needed)."),
    n_labelled: int = typer.Option(
        200, "--n-labelled", "--n-labeled", help="Labelled images (CIN 'val' split)."
    ),
    n_unlabelled: int = typer.Option(
        400, "--n-unlabelled", "--n-unlabeled", help="Unlabelled image-narration pairs (features 'train' split)."
    ),
    n_test: int = typer.Option(100, "--n-test", help="Test images (CIN 'test' split)."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed writes the same data."),
    feature_width: int = typer.Option(
        DEFAULT_FEATURE_WIDTH, "--feature-width", help="Width D of the region feature vectors."
    ),
    held_out: str = typer.Option(
        "", "--held-out", help="Comma-separated categories kept out of the labelled images (e.g. 'dog,car,umbrella')."
    ),
    trace_noise: float = typer.Option(
        0.05, "--trace-noise", help="Jitter of the mouse trace's box corners, as a fraction of the image (0: exact)."
    ),
    trace_lag: float = typer.Option(
        1.0, "--trace-lag", help="The pointer is early or late by up to this many words (drawn per narration; 0: in time)."
    ),
) -> None:
    """Write a synthetic multimodal coreference data set in the real file formats.

    OUT_DIR gets: cin_annotations/testval_annotations.json (+ val_image_ids.json,
    test_image_ids.json); faster_rcnn_image_features/{val,test,train}_features_compress.hdf5
    with {split}_imgid2idx.pkl and {split}_detection_dict.json; flk30k_LN.json +
    flk30k_LN_label.h5 (unlabelled narrations); flk30k_LN_trace_box/<id>.npy
    (per-word mouse trace boxes of every image, labelled and test ones too);
    gold/{val,test}/<id>.json (gold chains as scorch JSON); synth_phenomena.json
    (the phenomena each gold mention exercises: pronoun, synonym, hypernym,
    image_only, singleton, ...). Convert with convert-cin and convert-ln.
    """
    try:
        summary = generate(
            out_dir,
            n_labelled=n_labelled,
            n_unlabelled=n_unlabelled,
            n_test=n_test,
            seed=seed,
            feature_width=feature_width,
            held_out=[name.strip() for name in held_out.split(",") if name.strip()],
            trace_noise=trace_noise,
            trace_lag=trace_lag,
        )
    except ValueError as err:
        msg.fail("Cannot generate the data set", str(err), exits=1)
    msg.divider("synth")
    rows = [(f"images ({split})", n) for split, n in summary["images"].items()]
    rows += [(f"regions ({split})", n) for split, n in summary["regions"].items()]
    rows += [(f"mentions ({split})", n) for split, n in summary["mentions"].items()]
    rows += [(f"chains ({split})", n) for split, n in summary["chains"].items()]
    rows += [(f"mentions tagged {tag}", n) for tag, n in summary["phenomena"].items()]
    msg.table(rows, header=("what", "count"))
    if summary["held_out"]:
        msg.info(f"Kept out of the labelled images: {', '.join(summary['held_out'])}")
    msg.good(f"Wrote the synthetic data set to {out_dir} (seed {seed}, feature width {feature_width})")
