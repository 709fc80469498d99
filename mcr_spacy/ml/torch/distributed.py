"""torch.distributed plumbing for multi-process training: the process group,
one all-reduce of every gradient of a pipeline per step, parameter broadcast
and a weights fingerprint to check that all ranks agree."""
import datetime
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import numpy
import torch
import torch.distributed as dist
from thinc.api import Model, Optimizer, torch2xp, xp2torch
from thinc.shims import PyTorchShim

from ...errors import ConfigError, Errors


@dataclass
class ProcessInfo:
    rank: int
    world_size: int
    local_rank: int
    backend: str


def init_process_group(backend: Optional[str] = None, use_gpu: bool = False, timeout_s: int = 1800) -> ProcessInfo:
    """Join the process group described by torchrun's environment (`RANK`,
    `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`). Without them
    the process trains alone (world size 1, no group). Backend: NCCL for
    GPUs, gloo on CPU, unless given."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return ProcessInfo(0, 1, 0, "none")
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if backend is None:
        backend = "nccl" if use_gpu else "gloo"
    if backend == "nccl" and not torch.cuda.is_available():
        raise ConfigError(Errors.E124)
    if use_gpu:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(
            backend, rank=rank, world_size=world_size, timeout=datetime.timedelta(seconds=timeout_s)
        )
    return ProcessInfo(rank, world_size, local_rank, backend)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def destroy_process_group() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _device() -> torch.device:
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_true(flag: bool) -> bool:
    """True when `flag` is true on every rank (a collective: all ranks call it)."""
    if not is_distributed():
        return flag
    value = torch.tensor([1 if flag else 0], dtype=torch.int32, device=_device())
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())


def min_over_ranks(value: int) -> int:
    if not is_distributed():
        return value
    tensor = torch.tensor([value], dtype=torch.int64, device=_device())
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return int(tensor.item())


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """`obj` of rank `src` on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src, device=_device() if dist.get_backend() == "nccl" else None)
    return box[0]


def barrier() -> None:
    """Wait until every rank gets here (a collective: all ranks call it). Before
    the process group is destroyed at the end of training, so that no rank closes
    its connections while another still exchanges the last collective's data
    (gloo aborts the process when a peer goes away mid-exchange)."""
    if is_distributed():
        dist.barrier()


def all_gather_object(obj: Any) -> List[Any]:
    if not is_distributed():
        return [obj]
    out: List[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


class _Slot:
    """One trainable parameter: a thinc param of a node or a torch parameter
    inside a PyTorchShim."""

    def __init__(self, name: str, node: Optional[Model] = None, param_name: str = "",
                 torch_param: Optional[torch.nn.Parameter] = None) -> None:
        self.name = name
        self.node = node
        self.param_name = param_name
        self.torch_param = torch_param

    def param(self) -> torch.Tensor:
        """The parameter, as a tensor sharing its memory."""
        if self.torch_param is not None:
            return self.torch_param.data
        return xp2torch(self.node.get_param(self.param_name), device=_device())

    def ensure_grad(self) -> None:
        """Give a parameter without a gradient a zero one, so that every rank
        updates the same parameters in the same order."""
        if self.torch_param is not None:
            if self.torch_param.grad is None:
                self.torch_param.grad = torch.zeros_like(self.torch_param.data)
        elif not self.node.has_grad(self.param_name):
            param = self.node.get_param(self.param_name)
            self.node.set_grad(self.param_name, self.node.ops.alloc(param.shape, dtype=param.dtype))

    def has_grad(self) -> bool:
        if self.torch_param is not None:
            return self.torch_param.grad is not None
        return bool(self.node.has_grad(self.param_name))

    def grad(self) -> torch.Tensor:
        """The gradient, as a tensor sharing its memory."""
        self.ensure_grad()
        if self.torch_param is not None:
            return self.torch_param.grad
        return xp2torch(self.node.get_grad(self.param_name), device=_device())


class GradientSync:
    """All trainable parameters of some thinc models (with their torch
    modules), in one fixed order, with collective operations over them."""

    def __init__(self, models: Iterable[Model]) -> None:
        self.slots: List[_Slot] = []
        seen = set()
        for m, model in enumerate(models):
            for node in model.walk():
                if id(node) in seen:
                    continue
                seen.add(id(node))
                for shim in node.shims:
                    if isinstance(shim, PyTorchShim):
                        for name, param in shim._model.named_parameters():
                            if param.requires_grad:
                                self.slots.append(_Slot(f"{m}/{node.name}/torch/{name}", torch_param=param))
                for name in node.param_names:
                    if node.has_param(name):
                        self.slots.append(_Slot(f"{m}/{node.name}/{name}", node=node, param_name=name))

    def signature(self) -> List[Tuple[str, Tuple[int, ...]]]:
        return [(slot.name, tuple(slot.param().shape)) for slot in self.slots]

    def check_same_everywhere(self) -> None:
        """Raise unless every rank holds the same parameters (names, shapes)."""
        signatures = all_gather_object(self.signature())
        for rank, other in enumerate(signatures):
            if other != signatures[0]:
                diff = next(
                    (f"{a} vs {b}" for a, b in zip(signatures[0], other) if a != b),
                    f"{len(signatures[0])} vs {len(other)} parameters",
                )
                raise ConfigError(Errors.E125.format(rank=rank, diff=diff))

    def broadcast_params(self, src: int = 0) -> None:
        """Copy rank `src`'s parameters to every rank."""
        if not is_distributed():
            return
        for slot in self.slots:
            tensor = slot.param()
            dist.broadcast(tensor, src=src)
            if slot.torch_param is None:
                # Usually a view of the thinc array already; set it in case not.
                slot.node.set_param(slot.param_name, torch2xp(tensor, ops=slot.node.ops))

    def all_reduce_grads(self) -> None:
        """Replace every gradient by its mean over the ranks, in place (one
        flat all-reduce per dtype). A parameter with a gradient on some rank
        but not on another gets a zero gradient there first, so that every
        rank then updates the same parameters; one without a gradient on any
        rank stays without (and is not updated, as in one process)."""
        if not is_distributed():
            return
        world_size = dist.get_world_size()
        has = torch.tensor([slot.has_grad() for slot in self.slots], dtype=torch.int32, device=_device())
        dist.all_reduce(has, op=dist.ReduceOp.MAX)
        active = [slot for slot, flag in zip(self.slots, has.tolist()) if flag]
        grads = [slot.grad() for slot in active]
        by_dtype: Dict[torch.dtype, List[int]] = {}
        for i, grad in enumerate(grads):
            by_dtype.setdefault(grad.dtype, []).append(i)
        for dtype, indices in by_dtype.items():
            flat = torch.cat([grads[i].reshape(-1).to(_device()) for i in indices])
            dist.all_reduce(flat)
            flat /= world_size
            offset = 0
            for i in indices:
                n = grads[i].numel()
                chunk = flat[offset: offset + n].view_as(grads[i])
                offset += n
                slot = active[i]
                if slot.torch_param is not None:
                    grads[i].copy_(chunk)
                else:
                    array = slot.node.get_grad(slot.param_name)
                    array[...] = slot.node.ops.asarray(torch2xp(chunk, ops=slot.node.ops)).reshape(array.shape)

    def fingerprint(self) -> str:
        """A hash of all parameter values (identical weights, identical hash)."""
        digest = hashlib.sha256()
        for slot in self.slots:
            values = slot.param().detach().cpu().contiguous().numpy()
            digest.update(slot.name.encode("utf8"))
            digest.update(numpy.ascontiguousarray(values).tobytes())
        return digest.hexdigest()


class AllReduceOptimizer:
    """Wraps a thinc optimizer so that, once per training step, all gradients
    of the pipeline are averaged over the ranks before any parameter changes.

    The averaging runs in the first `finish_update` of a step (wrap each
    trainable component with `wrap_finish_update`), after every component's
    backward pass, or else at the optimizer's first call of the step;
    `step_schedules()` (called by spaCy's loop after each step) starts the
    next step. Every rank thus applies the same update to the same weights."""

    def __init__(self, optimizer: Optimizer, sync: GradientSync) -> None:
        self.__dict__["_optimizer"] = optimizer
        self.__dict__["_sync"] = sync
        self.__dict__["_synced"] = False

    def sync_once(self) -> None:
        if not self._synced:
            self._sync.all_reduce_grads()
            self.__dict__["_synced"] = True

    def wrap_finish_update(self, finish_update: Callable[[Any], None]) -> Callable[[Any], None]:
        def finish_update_after_sync(sgd: Any) -> None:
            self.sync_once()
            finish_update(sgd)

        return finish_update_after_sync

    def __call__(self, key, weights, gradient, *, lr_scale: float = 1.0):
        self.sync_once()
        return self._optimizer(key, weights, gradient, lr_scale=lr_scale)

    def step_schedules(self) -> None:
        self.__dict__["_synced"] = False
        self._optimizer.step_schedules()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._optimizer, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._optimizer, name, value)
