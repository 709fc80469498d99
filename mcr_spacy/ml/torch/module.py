"""The PyTorch cross-modal module: region encoder, mention-region fusion and heads."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from .packing import NEG_INF, Packing, pad_packed, padding_bias
from .ranking import AntecedentScorer

TRACE_SCALE = 100.0
# Trace-region overlaps enter the grounding logits both as they are and as
# log(1 + overlap / TRACE_EPS): the log part sets regions the pointer never
# touched well apart from those it did, the linear part ranks the touched ones.
TRACE_EPS = 0.05
TRACE_INIT = (5.0, 1.0)
# The grounding logit a region gets, before training, when the mention names
# its detector label (stored divided by TRACE_SCALE, as the trace weights).
LABEL_INIT = 3.0

class Attention(nn.Module):
    """Multi-head attention of queries over keys with a key-padding bias,
    through `scaled_dot_product_attention`. Parameters are packed like
    `nn.MultiheadAttention`'s (query, key and value rows of `in_proj`)."""

    def __init__(self, width: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.in_proj = nn.Linear(width, width * 3)
        self.out_proj = nn.Linear(width, width)

    def forward(
        self, queries: torch.Tensor, keys: Optional[torch.Tensor], bias: torch.Tensor,
        packing: Optional[Packing] = None,
    ) -> torch.Tensor:
        """queries: [B, L, W], or the [N, W] real ones of `packing` (the
        output then has the same form); keys: [B, S, W], or None for
        self-attention; bias: [B, 1, 1, S], 0 for real keys, NEG_INF for padding."""
        width = queries.shape[-1]
        if keys is None:
            q, k, v = pad_packed(self.in_proj(queries), packing).chunk(3, dim=-1)
        else:
            weight, bias_in = self.in_proj.weight, self.in_proj.bias
            q = pad_packed(nn.functional.linear(queries, weight[:width], bias_in[:width]), packing)
            k, v = nn.functional.linear(keys, weight[width:], bias_in[width:]).chunk(2, dim=-1)
        n_rows, n_queries = q.shape[:2]
        head_width = width // self.n_heads

        def heads(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(n_rows, -1, self.n_heads, head_width).transpose(1, 2)

        attended = nn.functional.scaled_dot_product_attention(
            heads(q), heads(k), heads(v), attn_mask=bias.to(q.dtype),
            dropout_p=self.dropout if self.training else 0.0,
        ).transpose(1, 2).reshape(n_rows, n_queries, width)
        return self.out_proj(attended if packing is None else packing.unpad(attended))


class RegionEncoder(nn.Module):
    """Embeds regions from visual features, detector labels and normalised
    geometry `[x1, y1, x2, y2, area]`, prepends a learned "no region" slot and
    runs one self-attention layer over the real regions (unless
    `self_attention` is off: each region then stands alone until the
    mentions attend to it).

    Visual features come as one `[F_i, D]` tensor per doc, with an index from
    each padded region slot into their concatenation, so that features are
    projected once per region, with no work on padding and no copy. `projection_rank`
    factorises the feature projection through a `D x rank` map (0: full rank)."""

    def __init__(
        self, width: int, feature_width: int, n_labels: int, n_heads: int, dropout: float,
        projection_rank: int = 0,
        self_attention: bool = True,
    ):
        super().__init__()
        self.feature_width = feature_width
        if feature_width > 0:
            layers = []
            if projection_rank:
                layers.append(nn.Linear(feature_width, projection_rank, bias=False))
            layers += [nn.Linear(projection_rank or feature_width, width), nn.LayerNorm(width)]
            self.feature_proj = nn.Sequential(*layers)
        else:
            self.feature_proj = None
        # Row 0 is "no label / unknown label".
        self.label_embed = nn.Sequential(nn.Embedding(n_labels + 1, width), nn.LayerNorm(width))
        self.box_mlp = nn.Sequential(
            nn.Linear(5, width), nn.ReLU(), nn.Linear(width, width), nn.LayerNorm(width)
        )
        self.null_region = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        if self_attention:
            self.attention = Attention(width, n_heads, dropout)
            self.norm = nn.LayerNorm(width)
        else:
            self.attention = None
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        features: Sequence[torch.Tensor],  # [F_i, D] per doc, F = sum F_i
        feature_index: torch.Tensor,  # [B, R] long: row of the concatenated features, F = none
        labels: torch.Tensor,  # [B, R] long, 0 = none
        boxes: torch.Tensor,  # [B, R, 5]
        region_mask: torch.Tensor,  # [B, R] bool, True = real region
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        n_rows, n_slots = region_mask.shape
        # The real regions only, then placed after each row's "no region" slot.
        real = Packing(region_mask).index
        encoded = self.box_mlp(boxes.reshape(-1, boxes.shape[-1]).index_select(0, real))
        encoded = encoded + self.embed_labels(labels.reshape(-1).index_select(0, real))
        if self.feature_proj is not None and len(features):
            first, rest = self.feature_proj[0], self.feature_proj[1:]
            # x @ W.T with W.T made contiguous once: faster than F.linear for
            # these tall, thin products (the first layer has no bias when factorised).
            weight = first.weight.t().contiguous()
            if first.bias is None:
                projected = [torch.mm(doc_features, weight) for doc_features in features]
            else:
                projected = [torch.addmm(first.bias, doc_features, weight) for doc_features in features]
            projected = rest(torch.cat(projected))
            projected = torch.cat([projected.to(encoded.dtype), encoded.new_zeros((1, projected.shape[1]))])
            encoded = encoded + projected.index_select(0, feature_index.reshape(-1).index_select(0, real))
        width = encoded.shape[1]
        null_slots = torch.arange(n_rows, device=real.device) * (n_slots + 1)
        slots = torch.cat([null_slots, real + real // n_slots + 1])
        values = torch.cat([self.null_region.reshape(1, width).to(encoded.dtype).expand(n_rows, width), encoded])
        regions = encoded.new_zeros((n_rows * (n_slots + 1), width)).index_copy_(0, slots, values)
        regions = regions.reshape(n_rows, n_slots + 1, width)
        mask = torch.cat([region_mask.new_ones((n_rows, 1)), region_mask], dim=1)
        if self.attention is not None:
            bias = padding_bias(~mask, regions.dtype)
            regions = self.norm(regions + self.dropout(self.attention(regions, None, bias)))
        return regions, mask

    def embed_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Label embeddings of `labels` [N]: the layer-normalised table's rows
        (normalising the table, when it is the smaller, is the same per row)."""
        embed, norm = self.label_embed
        if embed.num_embeddings < labels.shape[0]:
            return norm(embed.weight).index_select(0, labels)
        return norm(embed(labels))


class FusionLayer(nn.Module):
    """Transformer-decoder style layer: mention self-attention, mention→region
    cross-attention and a feed-forward block, each with a residual and LayerNorm."""

    def __init__(self, width: int, n_heads: int, dropout: float):
        super().__init__()
        self.self_attention = Attention(width, n_heads, dropout)
        self.cross_attention = Attention(width, n_heads, dropout)
        self.feed_forward = nn.Sequential(
            nn.Linear(width, width * 2), nn.GELU(), nn.Dropout(dropout), nn.Linear(width * 2, width)
        )
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.norm3 = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, mentions, packing, mention_bias, regions, region_bias):
        """mentions: the [N, W] real mentions of `packing`'s [B, M] layout;
        regions: [B, R + 1, W]."""
        attended = self.self_attention(mentions, None, mention_bias, packing)
        mentions = self.norm1(mentions + self.dropout(attended))
        attended = self.cross_attention(mentions, regions, region_bias, packing)
        mentions = self.norm2(mentions + self.dropout(attended))
        return self.norm3(mentions + self.dropout(self.feed_forward(mentions)))


class MultimodalCorefModule(nn.Module):
    """Mentions pooled from token vectors, fused with image regions.

    Returns, for every real mention of the batch (row-major over the padded
    rows): L2-normalised coreference embeddings `[N, width]`, grounding logits
    over `["no region"] + regions` `[N, R + 1]` (padded slots at NEG_INF),
    box-refinement deltas `[N, 4]`, and for the image-text contrastive loss
    the L2-normalised mentions before fusion `[N, width]` and regions of each
    row `[rows, R, width]` (in training only: empty in eval mode, where
    nothing needs them)."""

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
        projection_rank: int = 0,
        region_self_attention: bool = True,
        itc_grounding: bool = False,
        antecedent_width: int = 0,
        n_mention_types: int = 1,
        trace_grounding: bool = False,
        feature_logit_scale: float = 0.0,
        anaphoricity: bool = False,
        label_grounding: bool = False,
    ):
        super().__init__()
        self.n_width_buckets = n_width_buckets
        self.width_embed = nn.Embedding(n_width_buckets, width)
        self.extra_width = extra_width
        self.mention_proj = nn.Sequential(
            nn.Linear(token_width * 3 + extra_width, width), nn.LayerNorm(width)
        )
        self.regions = RegionEncoder(
            width, feature_width, n_labels, n_heads, dropout, projection_rank, region_self_attention
        )
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
        # Optionally the contrastive similarity joins the grounding logits,
        # with a learned weight: what the unlabelled images teach that space
        # then reaches grounding.
        self.itc_grounding = nn.Parameter(torch.full((1,), 5.0)) if itc_grounding else None
        # Optionally the mention's trace-region overlap joins the grounding
        # logits (`trace_logits`; 0 overlap, e.g. no trace: no change), with
        # learned weights stored divided by TRACE_SCALE so that they learn at
        # the pace of a logit rather than of one weight among thousands.
        self.trace_grounding = None
        if trace_grounding:
            self.trace_grounding = nn.Parameter(torch.tensor(TRACE_INIT) / TRACE_SCALE)
        # Optionally a learned logit joins the grounding logit of each region
        # whose label the mention names (`label_match`; 0 elsewhere).
        self.label_grounding = nn.Parameter(torch.full((1,), LABEL_INIT / TRACE_SCALE)) if label_grounding else None
        # Mention ranking (`antecedent_width` > 0): each mention scores the
        # earlier mentions of its row and a "new entity" dummy.
        self.antecedents = None
        if antecedent_width:
            self.antecedents = AntecedentScorer(
                width, antecedent_width, n_mention_types, dropout, feature_logit_scale, anaphoricity
            )

    def trace_logits(self, overlap: torch.Tensor) -> torch.Tensor:
        """The trace's part of the grounding logits of each region, from the
        mentions' trace-region overlaps `[B, M, R]`: learned weights on the
        overlap and on log(1 + overlap / TRACE_EPS); exactly 0 where the
        overlap is 0 (no trace, or a trace away from the region)."""
        weights = self.trace_grounding * TRACE_SCALE
        return overlap * weights[0] + torch.log1p(overlap / TRACE_EPS) * weights[1]

    def pool_mentions(self, tokvecs, starts, ends):
        """Mean of each mention's tokens, with its first and last token vectors.
        tokvecs: [T, W] (all docs' tokens, concatenated); starts/ends: [N]
        indices into it (end exclusive, end > start)."""
        # Sum each mention's own tokens (a cumulative sum over all tokens of
        # the batch is far slower on CPU and loses precision on long batches).
        lengths = ends - starts
        mention_of_item = torch.repeat_interleave(torch.arange(lengths.shape[0], device=lengths.device), lengths)
        first_item = torch.cumsum(lengths, dim=0) - lengths
        position = torch.arange(mention_of_item.shape[0], device=lengths.device) - first_item[mention_of_item]
        token_index = starts[mention_of_item] + position
        sums = tokvecs.new_zeros((lengths.shape[0], tokvecs.shape[1])).index_add(
            0, mention_of_item, tokvecs.index_select(0, token_index)
        )
        means = sums / lengths.unsqueeze(-1).to(tokvecs.dtype)
        first = tokvecs.index_select(0, starts)
        last = tokvecs.index_select(0, ends - 1)
        return torch.cat([means, first, last], dim=-1), lengths

    def forward(
        self,
        tokvecs: torch.Tensor,  # [T, W] token vectors of all docs
        starts: torch.Tensor,  # [B, M] long
        ends: torch.Tensor,  # [B, M] long
        mention_mask: torch.Tensor,  # [B, M] bool, True = real mention
        extra: torch.Tensor,  # [B, M, E] extra mention features
        features: Sequence[torch.Tensor],  # [F_i, D] region features per doc
        feature_index: torch.Tensor,  # [B, R] long: row of the concatenated features, F = none
        labels: torch.Tensor,  # [B, R] long
        boxes: torch.Tensor,  # [B, R, 5]
        region_mask: torch.Tensor,  # [B, R] bool
        pairs: Optional[Dict[str, torch.Tensor]] = None,  # mention attributes for the antecedent scorer
        trace_overlap: Optional[torch.Tensor] = None,  # [B, M, R] mention trace-region overlap
        label_match: Optional[torch.Tensor] = None,  # [B, M, R] 1 where the mention names the region's label
    ):
        # Position-wise layers run on the real mentions only, row-major over
        # the padded rows (the order of the outputs); attention pads them.
        packing = Packing(mention_mask)
        pooled, lengths = self.pool_mentions(tokvecs, packing.unpad(starts), packing.unpad(ends))
        if self.extra_width:
            pooled = torch.cat([pooled, packing.unpad(extra).to(pooled.dtype)], dim=-1)
        buckets = (lengths - 1).clamp(max=self.n_width_buckets - 1)
        mentions = self.mention_proj(pooled) + self.width_embed(buckets)
        regions, full_region_mask = self.regions(features, feature_index, labels, boxes, region_mask)
        # A row without mentions still needs one unmasked key for attention.
        mention_pad = ~mention_mask
        mention_pad[:, 0] &= mention_mask.any(dim=1)
        mention_bias = padding_bias(mention_pad, mentions.dtype)
        region_pad = ~full_region_mask
        region_bias = padding_bias(region_pad, mentions.dtype)
        before_fusion = mentions
        for layer in self.layers:
            mentions = layer(mentions, packing, mention_bias, regions, region_bias)
        logits = torch.bmm(packing.pad(self.ground_query(mentions)), self.ground_key(regions).transpose(1, 2))
        logits = logits * self.scale
        # The image-text contrastive space (real regions only, not the "no
        # region" slot): for its loss in training, and for the grounding
        # logits with `itc_grounding`.
        region_space = text_space = None
        if self.training or self.itc_grounding is not None:
            region_space = nn.functional.normalize(self.itc_region(regions[:, 1:]), dim=-1)
            text_space = nn.functional.normalize(self.itc_text(before_fusion), dim=-1)
        if self.itc_grounding is not None:
            itc_logits = torch.bmm(packing.pad(text_space), region_space.transpose(1, 2)) * self.itc_grounding
            logits = logits + nn.functional.pad(itc_logits, (1, 0))
        if self.trace_grounding is not None and trace_overlap is not None:
            logits = logits + nn.functional.pad(self.trace_logits(trace_overlap.to(logits.dtype)), (1, 0))
        if self.label_grounding is not None and label_match is not None:
            weight = self.label_grounding * TRACE_SCALE
            logits = logits + nn.functional.pad(label_match.to(logits.dtype) * weight, (1, 0))
        logits = logits.masked_fill(region_pad.unsqueeze(1), NEG_INF)
        attention = torch.softmax(logits.float(), dim=-1).to(regions.dtype)
        grounded = packing.unpad(torch.bmm(attention, regions))
        fused = torch.cat([mentions, grounded], dim=-1)
        deltas = self.box_head(fused)
        embeddings = nn.functional.normalize(self.coref_head(fused).float(), dim=-1)
        if self.antecedents is not None and pairs is not None:
            # The token vectors as the encoder gave them (before any learned
            # layer): their similarity is the encoder's, not re-learnt.
            width = tokvecs.shape[1]
            vectors = {"mean_vectors": pooled[:, :width], "last_vectors": pooled[:, 2 * width:3 * width]}
            pair_inputs = dict(pairs, starts=starts, ends=ends, **{k: packing.pad(v.detach()) for k, v in vectors.items()})
            antecedents = packing.unpad(self.antecedents(packing.pad(mentions), mention_mask, pair_inputs, attention))
        else:
            antecedents = embeddings[:, :0]  # empty, but part of the graph for backward
        if self.training:
            text, region_space = text_space.float(), region_space.float()
        else:
            text = embeddings.new_zeros((0, embeddings.shape[1]))
            region_space = embeddings.new_zeros((0,) + regions.shape[1:])
        return (
            embeddings,
            packing.unpad(logits).float(),
            deltas.float(),
            text,
            region_space,
            antecedents,
        )
