"""Padding and masks: real items of a padded batch, and attention biases."""
from typing import Optional

import torch

from ...defaults import MASKED_SCORE

NEG_INF = MASKED_SCORE


class Packing:
    """Real items of a padded `[B, S]` layout, as indices into its flattened
    rows: position-wise layers run on the `[N, C]` real items only and
    attention on the padded `[B, S, C]` form."""

    def __init__(self, mask: torch.Tensor) -> None:
        self.shape = mask.shape
        self.index = torch.nonzero(mask.reshape(-1)).squeeze(1)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C] -> [B, S, C], zeros in the padding."""
        n_rows, n_slots = self.shape
        out = x.new_zeros((n_rows * n_slots,) + x.shape[1:]).index_copy_(0, self.index, x)
        return out.reshape((n_rows, n_slots) + x.shape[1:])

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """[B, S, ...] -> [N, ...]."""
        return x.reshape((-1,) + x.shape[2:]).index_select(0, self.index)


def pad_packed(x: torch.Tensor, packing: Optional[Packing]) -> torch.Tensor:
    """`x` in the padded form: as it is without a packing, else `packing.pad(x)`."""
    return x if packing is None else packing.pad(x)


def padding_bias(pad: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[B, S] padding mask (True = padding) as an additive attention bias [B, 1, 1, S]."""
    bias = torch.zeros(pad.shape, dtype=dtype, device=pad.device).masked_fill(pad, NEG_INF)
    return bias[:, None, None, :]
