"""The PyTorch cross-modal module: region encoder, mention-region fusion and heads."""
import os
from typing import Tuple

import torch
from torch import nn


def _one_thread_after_fork() -> None:
    """GNU OpenMP's thread pool does not survive fork(): a forked worker
    (nlp.pipe(n_process=...)) that enters a parallel region hangs. Workers run
    one thread each, as torch's own DataLoader workers do."""
    torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_one_thread_after_fork)

NEG_INF = -1e4  # large enough to zero a softmax slot, small enough for float16


class RegionEncoder(nn.Module):
    """Embeds regions from visual features, detector labels and normalised
    geometry `[x1, y1, x2, y2, area]`, prepends a learned "no region" slot and
    runs one self-attention layer with a key-padding mask."""

    def __init__(self, width: int, feature_width: int, n_labels: int, n_heads: int, dropout: float):
        super().__init__()
        self.feature_width = feature_width
        if feature_width > 0:
            self.feature_proj = nn.Sequential(nn.Linear(feature_width, width), nn.LayerNorm(width))
        else:
            self.feature_proj = None
        # Row 0 is "no label / unknown label".
        self.label_embed = nn.Sequential(nn.Embedding(n_labels + 1, width), nn.LayerNorm(width))
        self.box_mlp = nn.Sequential(
            nn.Linear(5, width), nn.ReLU(), nn.Linear(width, width), nn.LayerNorm(width)
        )
        self.null_region = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.attention = nn.MultiheadAttention(width, n_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        features: torch.Tensor,  # [B, R, D]
        has_features: torch.Tensor,  # [B, R] float 0/1
        labels: torch.Tensor,  # [B, R] long, 0 = none
        boxes: torch.Tensor,  # [B, R, 5]
        region_mask: torch.Tensor,  # [B, R] bool, True = real region
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        n_rows = boxes.shape[0]
        regions = self.box_mlp(boxes) + self.label_embed(labels)
        if self.feature_proj is not None:
            # Project only real regions that have features (no work on padding).
            real = region_mask & (has_features > 0)
            projected = regions.new_zeros(regions.shape)
            projected[real] = self.feature_proj(features[real]).to(regions.dtype)
            regions = regions + projected
        null = self.null_region.expand(n_rows, 1, -1)
        regions = torch.cat([null, regions], dim=1)
        mask = torch.cat([region_mask.new_ones((n_rows, 1)), region_mask], dim=1)
        attended, _ = self.attention(
            regions, regions, regions, key_padding_mask=~mask, need_weights=False
        )
        regions = self.norm(regions + self.dropout(attended))
        return regions, mask


class FusionLayer(nn.Module):
    """Transformer-decoder style layer: mention self-attention, mention→region
    cross-attention and a feed-forward block, each with a residual and LayerNorm."""

    def __init__(self, width: int, n_heads: int, dropout: float):
        super().__init__()
        self.self_attention = nn.MultiheadAttention(width, n_heads, dropout=dropout, batch_first=True)
        self.cross_attention = nn.MultiheadAttention(width, n_heads, dropout=dropout, batch_first=True)
        self.feed_forward = nn.Sequential(
            nn.Linear(width, width * 2), nn.GELU(), nn.Dropout(dropout), nn.Linear(width * 2, width)
        )
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.norm3 = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, mentions, mention_pad, regions, region_pad):
        attended, _ = self.self_attention(
            mentions, mentions, mentions, key_padding_mask=mention_pad, need_weights=False
        )
        mentions = self.norm1(mentions + self.dropout(attended))
        attended, _ = self.cross_attention(
            mentions, regions, regions, key_padding_mask=region_pad, need_weights=False
        )
        mentions = self.norm2(mentions + self.dropout(attended))
        return self.norm3(mentions + self.dropout(self.feed_forward(mentions)))


class MultimodalCorefModule(nn.Module):
    """Mentions pooled from token vectors, fused with image regions.

    Returns, for every real mention of the batch (row-major over the padded
    rows): L2-normalised coreference embeddings `[N, width]`, grounding logits
    over `["no region"] + regions` `[N, R + 1]` (padded slots at NEG_INF),
    box-refinement deltas `[N, 4]`, and for the image-text contrastive loss
    the L2-normalised mentions before fusion `[N, width]` and regions of each
    row `[rows, R, width]`."""

    def __init__(
        self,
        token_width: int,
        width: int,
        feature_width: int,
        n_labels: int,
        n_heads: int,
        n_layers: int,
        dropout: float,
        extra_width: int = 0,
        n_width_buckets: int = 16,
    ):
        super().__init__()
        self.n_width_buckets = n_width_buckets
        self.width_embed = nn.Embedding(n_width_buckets, width)
        self.extra_width = extra_width
        self.mention_proj = nn.Sequential(
            nn.Linear(token_width * 3 + extra_width, width), nn.LayerNorm(width)
        )
        self.regions = RegionEncoder(width, feature_width, n_labels, n_heads, dropout)
        self.layers = nn.ModuleList([FusionLayer(width, n_heads, dropout) for _ in range(n_layers)])
        # Coreference embeddings see the mention and the region it is grounded
        # to: mentions grounded to the same region come out close.
        self.coref_head = nn.Sequential(nn.Linear(width * 2, width), nn.GELU(), nn.Linear(width, width))
        self.ground_query = nn.Linear(width, width)
        self.ground_key = nn.Linear(width, width)
        self.box_head = nn.Sequential(
            nn.Linear(width * 2, width), nn.GELU(), nn.Linear(width, 4)
        )
        nn.init.zeros_(self.box_head[-1].weight)
        nn.init.zeros_(self.box_head[-1].bias)
        self.scale = width ** -0.5
        # Image-text contrastive space: mentions before fusion, encoded regions.
        self.itc_text = nn.Linear(width, width)
        self.itc_region = nn.Linear(width, width)

    def pool_mentions(self, tokvecs, starts, ends):
        """Mean of each mention's tokens, with its first and last token vectors.
        tokvecs: [T, W] (all docs' tokens, concatenated); starts/ends: [B, M]
        indices into it (end exclusive; padding has start == end == 0)."""
        zero = tokvecs.new_zeros((1, tokvecs.shape[1]))
        # Sum each mention's own tokens (a cumulative sum over all tokens of
        # the batch is far slower on CPU and loses precision on long batches).
        sizes = (ends - starts).clamp(min=0).reshape(-1)
        mention_of_item = torch.repeat_interleave(torch.arange(sizes.shape[0], device=sizes.device), sizes)
        first_item = torch.cumsum(sizes, dim=0) - sizes
        position = torch.arange(mention_of_item.shape[0], device=sizes.device) - first_item[mention_of_item]
        token_index = starts.reshape(-1)[mention_of_item] + position
        sums = tokvecs.new_zeros((sizes.shape[0], tokvecs.shape[1])).index_add(0, mention_of_item, tokvecs[token_index])
        lengths = (ends - starts).clamp(min=1)
        means = sums.reshape(starts.shape + (tokvecs.shape[1],)) / lengths.unsqueeze(-1).to(tokvecs.dtype)
        padded = torch.cat([tokvecs, zero], dim=0)
        last_index = torch.where(ends > starts, ends - 1, torch.full_like(ends, tokvecs.shape[0]))
        first_index = torch.where(ends > starts, starts, torch.full_like(starts, tokvecs.shape[0]))
        return torch.cat([means, padded[first_index], padded[last_index]], dim=-1), lengths

    def forward(
        self,
        tokvecs: torch.Tensor,
        starts: torch.Tensor,
        ends: torch.Tensor,
        mention_mask: torch.Tensor,
        extra: torch.Tensor,
        features: torch.Tensor,
        has_features: torch.Tensor,
        labels: torch.Tensor,
        boxes: torch.Tensor,
        region_mask: torch.Tensor,
    ):
        pooled, lengths = self.pool_mentions(tokvecs, starts, ends)
        if self.extra_width:
            pooled = torch.cat([pooled, extra.to(pooled.dtype)], dim=-1)
        buckets = (lengths - 1).clamp(max=self.n_width_buckets - 1)
        mentions = self.mention_proj(pooled) + self.width_embed(buckets)
        text = nn.functional.normalize(self.itc_text(mentions).float(), dim=-1)
        regions, full_region_mask = self.regions(features, has_features, labels, boxes, region_mask)
        mention_pad = ~mention_mask
        # A row without mentions still needs one unmasked key for attention.
        empty_rows = mention_mask.sum(dim=1) == 0
        if bool(empty_rows.any()):
            mention_pad = mention_pad.clone()
            mention_pad[empty_rows, 0] = False
        region_pad = ~full_region_mask
        for layer in self.layers:
            mentions = layer(mentions, mention_pad, regions, region_pad)
        logits = torch.einsum(
            "bmd,brd->bmr", self.ground_query(mentions), self.ground_key(regions)
        ) * self.scale
        logits = logits.masked_fill(region_pad.unsqueeze(1), NEG_INF)
        attention = torch.softmax(logits.float(), dim=-1).to(regions.dtype)
        grounded = torch.einsum("bmr,brd->bmd", attention, regions)
        deltas = self.box_head(torch.cat([mentions, grounded], dim=-1))
        embeddings = nn.functional.normalize(
            self.coref_head(torch.cat([mentions, grounded], dim=-1)).float(), dim=-1
        )
        region_space = nn.functional.normalize(self.itc_region(regions[:, 1:]).float(), dim=-1)
        return (
            embeddings[mention_mask],
            logits.float()[mention_mask],
            deltas.float()[mention_mask],
            text[mention_mask],
            region_space,
        )
