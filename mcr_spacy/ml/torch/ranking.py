"""Mention ranking: each mention scores every earlier mention of its row and a
"new entity" dummy (score 0), from the two fused mention embeddings and the
pair features any coreference model uses (string and head match, word
overlap, the pair of mention types that carries agreement in gender, number
and animacy, mention and sentence distance, nesting, same speaker, and how
much the two mentions' groundings agree), plus how similar the two mentions'
token vectors are (mean and last token): with a pretrained encoder that is
what tells that "the police" and "the policemen" may corefer.

With `feature_logit_scale` > 0 each value of each pair feature also adds a
learned logit of its own straight to the score (a log-linear model beside
the MLP, its weights stored divided by the scale so that they learn at the
pace of a logit): a few hundred dialogs then teach it what the rules know,
e.g. that "he" does not refer to "a woman", before the mention embeddings
take over the score."""
from typing import Dict

import torch
from torch import nn

from ..pair_inputs import AGREEMENT_RANKS, ANAPHORICITY_VALUES
from .packing import NEG_INF

# Mention distances 1, 2, 3, 4, 5-7, 8-15, 16-31, 32-63, 64+ and sentence
# distances 0, 1, 2, 3, 4-7, 8+ get one embedding each.
DISTANCE_BUCKETS = (1, 2, 3, 4, 5, 8, 16, 32, 64)
SENTENCE_BUCKETS = (0, 1, 2, 3, 4, 8)
# Cosine similarities of token vectors, in steps of 0.1 from below 0 to 1.
SIMILARITY_BUCKETS = tuple(round(0.1 * k, 1) for k in range(-1, 10))


def bucketize(values: torch.Tensor, edges: tuple) -> torch.Tensor:
    """Index of the bucket of each value: the number of edges at or below it, minus one (at least 0)."""
    boundaries = torch.tensor(edges, dtype=values.dtype, device=values.device)
    return (torch.bucketize(values, boundaries, right=True) - 1).clamp(min=0)


class AntecedentScorer(nn.Module):
    """Scores `[B, M, M + 1]` of each mention slot against the "new entity"
    dummy (column 0, score 0) and every slot of its row (column j + 1);
    slots that are not earlier real mentions get NEG_INF."""

    def __init__(
        self, width: int, hidden: int, n_types: int, dropout: float,
        feature_logit_scale: float = 0.0, anaphoricity: bool = False,
    ):
        super().__init__()
        self.n_types = n_types
        self.mention = nn.Linear(width, hidden)
        self.candidate = nn.Linear(width, hidden, bias=False)
        self.bilinear = nn.Linear(width, width, bias=False)
        self.type_pair = nn.Embedding(n_types * n_types, hidden)
        # exact match, head match, word overlap: 0 = does not apply (a pronoun), 1 = no, 2 = yes
        self.exact = nn.Embedding(3, hidden)
        self.head = nn.Embedding(3, hidden)
        self.overlap = nn.Embedding(3, hidden)
        # a pronoun's candidate: 0 = does not apply, 1 = disagrees, 2.. = rank among agreeing ones
        self.agreement = nn.Embedding(2 + AGREEMENT_RANKS, hidden)
        self.distance = nn.Embedding(len(DISTANCE_BUCKETS), hidden)
        self.sentence = nn.Embedding(len(SENTENCE_BUCKETS), hidden)
        self.nested = nn.Embedding(2, hidden)
        # same speaker: 0 = unknown, 1 = different, 2 = same
        self.speaker = nn.Embedding(3, hidden)
        self.grounding_agreement = nn.Parameter(torch.zeros(hidden))
        # cosine of the mentions' mean token vectors, and of their last tokens
        self.mean_similarity = nn.Embedding(len(SIMILARITY_BUCKETS), hidden)
        self.last_similarity = nn.Embedding(len(SIMILARITY_BUCKETS), hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, 1)
        nn.init.zeros_(self.bilinear.weight)
        # How likely the mention (a noun phrase) is to start an entity, the
        # same for all its candidates (see `pair_inputs.anaphoricity`).
        self.anaphoricity = nn.Embedding(ANAPHORICITY_VALUES, hidden) if anaphoricity else None
        self.feature_logit_scale = feature_logit_scale
        self.feature_logits = None
        if feature_logit_scale:
            self.feature_logits = nn.ModuleDict({
                name: nn.Embedding(getattr(self, name).num_embeddings, 1)
                for name in PAIR_FEATURES if getattr(self, name) is not None
            })
            for table in self.feature_logits.values():
                nn.init.zeros_(table.weight)

    def forward(
        self,
        mentions: torch.Tensor,  # [B, M, W] fused mention embeddings (zeros in padding)
        mask: torch.Tensor,  # [B, M] bool, True = real mention
        pairs: Dict[str, torch.Tensor],  # the mention attributes of `pair_inputs`
        grounding: torch.Tensor,  # [B, M, R + 1] grounding probabilities ("no region" first)
    ) -> torch.Tensor:
        n_rows, n_slots = mask.shape
        slot = torch.arange(n_slots, device=mask.device)
        earlier = slot[None, :] < slot[:, None]  # [M, M]: candidate j is before mention i
        valid = earlier[None] & mask[:, None, :] & mask[:, :, None]
        hidden = self.mention(mentions)[:, :, None, :] + self.candidate(mentions)[:, None, :, :]
        features = pair_features(pairs, self.n_types, self.anaphoricity is not None)
        scores = None
        for name, values in features.items():
            hidden = hidden + getattr(self, name)(values)
            if self.feature_logits is not None:
                logits = self.feature_logits[name](values).squeeze(-1)
                scores = logits if scores is None else scores + logits
        # How much the two mentions are grounded to the same real region.
        real = grounding[:, :, 1:].to(hidden.dtype)
        agree = torch.bmm(real, real.transpose(1, 2))
        hidden = hidden + agree[..., None] * self.grounding_agreement
        pair_scores = self.out(self.dropout(nn.functional.gelu(hidden))).squeeze(-1)
        if scores is not None:
            pair_scores = pair_scores + scores.to(pair_scores.dtype) * self.feature_logit_scale
        scores = pair_scores + torch.bmm(self.bilinear(mentions), mentions.transpose(1, 2))
        scores = scores.float().masked_fill(~valid, NEG_INF)
        dummy = scores.new_zeros((n_rows, n_slots, 1))
        return torch.cat([dummy, scores], dim=-1)


# The categorical pair features, each named after its embedding table.
PAIR_FEATURES = (
    "type_pair", "exact", "head", "overlap", "agreement", "distance", "sentence", "nested", "speaker",
    "mean_similarity", "last_similarity", "anaphoricity",
)


def pair_features(pairs: Dict[str, torch.Tensor], n_types: int, anaphoricity: bool = False) -> Dict[str, torch.Tensor]:
    """The value (long) of each pair feature of `PAIR_FEATURES` for every
    (mention, candidate) pair, from the mention attributes of `pair_inputs`
    (the similarities only when the token vectors are given, the mention's
    anaphoricity only when asked for): `[B, M, M]`, or `[1, M, M]` for the
    distance (the same in every row) and `[B, M, 1]` for the anaphoricity
    (the same for every candidate), which broadcast."""
    types, sentences, speakers = pairs["types"], pairs["sentences"], pairs["speakers"]
    starts, ends = pairs["starts"], pairs["ends"]
    n_slots = types.shape[1]
    slot = torch.arange(n_slots, device=types.device)
    distance = (slot[:, None] - slot[None, :]).clamp(min=0)
    gap = (sentences[:, :, None] - sentences[:, None, :]).clamp(min=0)
    nested = (starts[:, None, :] <= starts[:, :, None]) & (ends[:, :, None] <= ends[:, None, :])
    nested = nested | ((starts[:, :, None] <= starts[:, None, :]) & (ends[:, None, :] <= ends[:, :, None]))
    known = (speakers[:, :, None] > 0) & (speakers[:, None, :] > 0)
    same = speakers[:, :, None] == speakers[:, None, :]
    features = {
        "type_pair": types[:, :, None] * n_types + types[:, None, :],
        "exact": _match(pairs["text_ids"]),
        "head": _match(pairs["head_ids"]),
        "overlap": pairs["overlap"],
        "agreement": pairs["agreement"],
        "distance": bucketize(distance, DISTANCE_BUCKETS)[None],
        "sentence": bucketize(gap, SENTENCE_BUCKETS),
        "nested": nested.long(),
        "speaker": known.long() * (1 + same.long()),
    }
    if "mean_vectors" in pairs:
        features["mean_similarity"] = _similarity_buckets(pairs["mean_vectors"])
        features["last_similarity"] = _similarity_buckets(pairs["last_vectors"])
    if anaphoricity:
        features["anaphoricity"] = pairs["anaphoricity"][:, :, None]
    return features


def _similarity_buckets(vectors: torch.Tensor) -> torch.Tensor:
    """[B, M, W] vectors -> [B, M, M] bucket of each pair's cosine similarity."""
    unit = nn.functional.normalize(vectors.float(), dim=-1)
    return bucketize(torch.bmm(unit, unit.transpose(1, 2)), SIMILARITY_BUCKETS)


def _match(ids: torch.Tensor) -> torch.Tensor:
    """[B, M] ids (0 = none) -> [B, M, M]: 0 where either has none, 1 for different, 2 for equal."""
    known = (ids[:, :, None] > 0) & (ids[:, None, :] > 0)
    return known.long() * (1 + (ids[:, :, None] == ids[:, None, :]).long())


def antecedent_loss(scores: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Negative marginal log-likelihood of the gold antecedents: `scores`
    `[N, K + 1]` (column 0 the dummy), `gold` `[N, K + 1]` bool with at least one
    True per row (the dummy when a mention has no gold antecedent). Summed."""
    gold_scores = scores.masked_fill(~gold, NEG_INF)
    return (torch.logsumexp(scores, dim=-1) - torch.logsumexp(gold_scores, dim=-1)).sum()
