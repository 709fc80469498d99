"""The thinc layer around the cross-modal module: conversions between thinc
arrays and torch tensors, and the shim that runs it."""
import io
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from thinc.api import ArgsKwargs, Model, PyTorchGradScaler, PyTorchShim, torch2xp, xp2torch
from thinc.layers.pytorchwrapper import forward as pytorch_forward

INPUT_ORDER = (
    "tokvecs", "starts", "ends", "mention_mask", "extra", "features",
    "feature_index", "labels", "boxes", "region_mask", "pairs", "trace_overlap",
    "label_match",
)


def convert_inputs(model: Model, batch: Dict[str, Any], is_train: bool) -> Tuple[ArgsKwargs, Callable]:
    """Only the token vectors need a gradient: they lead back to the tok2vec.
    A list (the region features, one array per doc) becomes a list of tensors,
    a dict (the antecedent scorer's mention attributes) a dict of tensors;
    an input the model does not use stays None."""
    device = model.shims[0].device

    def convert(key: str, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [xp2torch(a, device=device) for a in value]
        if isinstance(value, dict):
            return {name: xp2torch(a, device=device) for name, a in value.items()}
        return xp2torch(value, requires_grad=(is_train and key == "tokvecs"), device=device)

    args = tuple(convert(key, batch.get(key)) for key in INPUT_ORDER)

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


class ModeKeepingPyTorchShim(PyTorchShim):
    """thinc's `PyTorchShim`, except that `predict` leaves the module in eval
    mode instead of switching it to eval and back to train on every call:
    `Module.train(mode)` walks every submodule, about 1 ms per call for this
    module. `begin_update` switches it back to train mode, as thinc's does."""

    def predict(self, inputs: ArgsKwargs) -> Any:
        if self._model.training:
            self._model.eval()
        with torch.inference_mode():
            with torch.autocast(device_type="cuda", enabled=self._mixed_precision):
                return self._model(*inputs.args, **inputs.kwargs)


def load_weights(module: torch.nn.Module, state_bytes: bytes, device: "torch.device") -> torch.nn.Module:
    """Load saved weights into the module with `torch.load(weights_only=True)`:
    tensors and plain containers only, so a crafted file cannot run code on
    load, whatever the torch version's default."""
    state = torch.load(io.BytesIO(state_bytes), map_location=device, weights_only=True)
    module.load_state_dict(state)
    module.to(device)
    return module


def wrap_module(
    module: torch.nn.Module, mixed_precision: bool = False, grad_scaler: Optional[PyTorchGradScaler] = None
) -> Model:
    """The module as a thinc layer: `PyTorchWrapper_v2` with this module's
    conversions and a `ModeKeepingPyTorchShim`."""
    return Model(
        "pytorch",
        pytorch_forward,
        attrs={"convert_inputs": convert_inputs, "convert_outputs": convert_outputs},
        shims=[ModeKeepingPyTorchShim(
            module, mixed_precision=mixed_precision, grad_scaler=grad_scaler, deserialize_model=load_weights
        )],
        dims={"nI": None, "nO": None},
    )
