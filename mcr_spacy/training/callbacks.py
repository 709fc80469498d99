"""Registered callbacks for training configs."""
from typing import Any, Callable, Dict, List

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry
from thinc.api import Optimizer

from ..errors import ConfigError, Errors


@registry.callbacks("mcr_spacy.initialize_frozen.v1")
def create_initialize_frozen(components: List[str]) -> Callable[[Language], Language]:
    """A `[initialize.before_init]` callback that initialises the named
    components although they are frozen. spaCy initialises no frozen
    component, so a pretrained transformer that is built from its config
    (not sourced from a saved pipeline) could not otherwise be frozen: kept in
    `frozen_components` and `annotating_components`, it then runs without
    gradients while the components that listen to it train, instead of being
    back-propagated through with a zero `grad_factor`."""

    def initialize_frozen(nlp: Language) -> Language:
        doc = nlp.make_doc("initialize")
        for name in components:
            if name not in nlp.component_names:
                raise ConfigError(Errors.E127.format(name=name, components=nlp.component_names))
            component = nlp.get_pipe(name)
            component.initialize(lambda: [Example(doc, doc)], nlp=nlp)
            # A transformer links its listeners among the enabled components
            # only, and frozen ones are disabled now: link them here.
            find_listeners = getattr(component, "find_listeners", None)
            if find_listeners is not None:
                for _, later in nlp.components[nlp.component_names.index(name):]:
                    find_listeners(later)
        return nlp

    return initialize_frozen


@registry.callbacks("mcr_spacy.learn_rate_scales.v1")
def create_learn_rate_scales(scales: Dict[str, float]) -> Callable[[Language], Language]:
    """An `[initialize.after_init]` callback that makes each named component
    update its weights at the optimizer's learning rate times its scale, e.g.
    a pretrained transformer fine-tuned at 1/20 of the rate of the fresh
    layers that listen to it (spaCy has one optimizer, and Adam's step does not
    shrink with the gradient, so a listener's `grad_factor` cannot do this)."""

    def learn_rate_scales(nlp: Language) -> Language:
        trained = [name for name in nlp.component_names if name not in nlp.disabled]
        for name, scale in scales.items():
            if name not in trained:
                raise ConfigError(Errors.E128.format(name=name, components=trained))
            if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
                raise ConfigError(Errors.E129.format(name=name, value=scale))
            component = nlp.get_pipe(name)
            component.finish_update = _scaled_finish_update(component.finish_update, float(scale))
        return nlp

    return learn_rate_scales


def _scaled_finish_update(finish_update: Callable[[Optimizer], None], scale: float) -> Callable[[Optimizer], None]:
    def scaled(sgd: Optimizer) -> None:
        finish_update(_ScaledOptimizer(sgd, scale))

    return scaled


class _ScaledOptimizer:
    """The optimizer, with its learning rate scaled for every update made through it."""

    def __init__(self, optimizer: Optimizer, scale: float):
        self._optimizer = optimizer
        self._scale = scale

    def __call__(self, key: Any, weights: Any, gradient: Any, *, lr_scale: float = 1.0):
        return self._optimizer(key, weights, gradient, lr_scale=lr_scale * self._scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._optimizer, name)
