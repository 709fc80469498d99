"""An exponential moving average of a model's weights: thinc params and the
state of its PyTorch shims."""
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Tuple

import torch
from thinc.api import Model, PyTorchShim, torch2xp


class WeightAverage:
    """Keeps `avg = decay_t * avg + (1 - decay_t) * weight` for every weight of
    `model`, with the warm-up `decay_t = min(decay, (1 + t) / (10 + t))` so that
    early averages are not dominated by the initial weights."""

    def __init__(self, model: Model, decay: float) -> None:
        self.decay = decay
        self.n_updates = 0
        self.thinc: Dict[Tuple[int, str], Any] = {}
        self.torch: Dict[str, torch.Tensor] = {}
        for key, value in _thinc_params(model):
            self.thinc[key] = model.ops.xp.array(value, copy=True)
        for key, tensor in _torch_state(model):
            self.torch[key] = tensor.detach().clone()

    def update(self, model: Model) -> None:
        self.n_updates += 1
        decay = min(self.decay, (1.0 + self.n_updates) / (10.0 + self.n_updates))
        for key, value in _thinc_params(model):
            avg = self.thinc.get(key)
            if avg is None or avg.shape != value.shape:
                self.thinc[key] = model.ops.xp.array(value, copy=True)
            else:
                avg *= decay
                avg += (1.0 - decay) * value
        with torch.no_grad():
            for key, tensor in _torch_state(model):
                avg = self.torch.get(key)
                if avg is None or avg.shape != tensor.shape:
                    self.torch[key] = tensor.detach().clone()
                elif avg.is_floating_point():
                    avg.mul_(decay).add_(tensor.detach(), alpha=1.0 - decay)
                else:
                    avg.copy_(tensor)

    @contextmanager
    def applied(self, model: Model) -> Iterator[None]:
        """Use the averages as `model`'s weights inside the block. Like
        `model.use_params`, but tensors and arrays are swapped by reference,
        with no copy: cheap enough for every predict call. The averages must
        not change inside the block."""
        thinc_backup: List[Tuple[Model, str, Any]] = []
        torch_backup: List[Tuple[torch.Tensor, torch.Tensor]] = []
        try:
            for node in model.walk():
                for name in node.param_names:
                    avg = self.thinc.get((node.id, name))
                    if avg is not None and node.has_param(name):
                        thinc_backup.append((node, name, node.get_param(name)))
                        node.set_param(name, avg)
            for key, tensor in _torch_state(model, keep_vars=True):
                avg = self.torch.get(key)
                if avg is not None and avg.shape == tensor.shape:
                    torch_backup.append((tensor, tensor.data))
                    tensor.data = avg
            yield
        finally:
            for tensor, data in torch_backup:
                tensor.data = data
            for node, name, value in thinc_backup:
                node.set_param(name, value)

    def differs_from(self, model: Model) -> bool:
        """Whether any average differs from the model's current weight."""
        for key, value in _thinc_params(model):
            if key in self.thinc and not model.ops.xp.array_equal(self.thinc[key], value):
                return True
        for key, tensor in _torch_state(model):
            if key in self.torch and not torch.equal(self.torch[key], tensor):
                return True
        return False


def _thinc_params(model: Model) -> Iterator[Tuple[Tuple[int, str], Any]]:
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                yield (node.id, name), node.get_param(name)


def _torch_state(model: Model, keep_vars: bool = False) -> Iterator[Tuple[str, torch.Tensor]]:
    for node in model.walk():
        for shim in node.shims:
            if isinstance(shim, PyTorchShim):
                for name, tensor in shim._model.state_dict(keep_vars=keep_vars).items():
                    yield f"pytorch_{shim.id}_{name}", tensor


class Teacher:
    """A copy of a model's torch module that holds the averaged weights, run
    without gradients on a student's batch (the student's weights, and the
    autograd graph of its pending update, are never touched)."""

    def __init__(self) -> None:
        self.module = None

    def __call__(self, model: Model, average: WeightAverage, batch: Dict[str, Any]) -> Tuple:
        import copy

        from .wrapper import convert_inputs

        wrapper = model.get_ref("torch")
        shim = wrapper.shims[0]
        if self.module is None:
            self.module = copy.deepcopy(shim._model)
        prefix = f"pytorch_{shim.id}_"
        state = {k[len(prefix):]: v for k, v in average.torch.items() if k.startswith(prefix)}
        self.module.load_state_dict(state)
        self.module.eval()
        args, _ = convert_inputs(wrapper, batch, False)
        with torch.no_grad():
            outputs = self.module(*args.args, **args.kwargs)
        return tuple(torch2xp(t) for t in outputs)
