"""Conversions between thinc arrays and torch tensors for the cross-modal module."""
from typing import Any, Callable, Dict, Tuple

from thinc.api import ArgsKwargs, Model, torch2xp, xp2torch

INPUT_ORDER = (
    "tokvecs", "starts", "ends", "mention_mask", "extra", "features",
    "feature_index", "labels", "boxes", "region_mask",
)


def convert_inputs(model: Model, batch: Dict[str, Any], is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Only the token vectors need a gradient: they lead back to the tok2vec.
    A list (the region features, one array per doc) becomes a list of tensors."""
    device = model.shims[0].device
    args = tuple(
        [xp2torch(a, device=device) for a in batch[key]]
        if isinstance(batch[key], list)
        else xp2torch(batch[key], requires_grad=(is_train and key == "tokvecs"), device=device)
        for key in INPUT_ORDER
    )

    def get_d_tokvecs(d_inputs: ArgsKwargs):
        return torch2xp(d_inputs.args[0])

    return ArgsKwargs(args=args, kwargs={}), get_d_tokvecs


def convert_outputs(model: Model, inputs_outputs: Tuple[Any, Tuple], is_train: bool):
    _, outputs = inputs_outputs
    converted = tuple(torch2xp(t.detach()) for t in outputs)
    device = model.shims[0].device

    def get_d_outputs(d_outputs: Tuple) -> ArgsKwargs:
        grads = tuple(xp2torch(d, device=device) for d in d_outputs)
        return ArgsKwargs(args=(outputs,), kwargs={"grad_tensors": grads})

    return converted, get_d_outputs
