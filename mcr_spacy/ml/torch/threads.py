"""torch's intra-op thread count, set where the package decides it."""
import torch


def set_torch_threads(n_threads: int) -> None:
    """Use `n_threads` intra-op threads in this process (0 keeps torch's default)."""
    if n_threads > 0:
        torch.set_num_threads(n_threads)
