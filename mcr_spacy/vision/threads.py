"""The CPU threads of the extractors: torch's and OpenCV's."""
from ..ml.torch.threads import set_torch_threads
from .detector import import_cv2


def set_threads(n_threads: int) -> None:
    """Use `n_threads` threads in torch and OpenCV (0 keeps their defaults)."""
    if n_threads > 0:
        set_torch_threads(n_threads)
        import_cv2().setNumThreads(n_threads)
