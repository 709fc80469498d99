"""Training objectives, computed with torch autograd on the model's outputs."""
from typing import Dict, Tuple

import numpy
import torch
from thinc.api import torch2xp, xp2torch

from ...annotation.boxes import DELTA_SCALE_CLAMP, DELTA_WEIGHTS
from ..model import Targets
from .ranking import antecedent_loss


def coreference_similarity(
    embeddings: torch.Tensor, logits: torch.Tensor, agreement_weight: float,
    has_regions: torch.Tensor,
) -> torch.Tensor:
    """Pairwise coreference scores: cosine of the embeddings, mixed with the
    probability that two mentions are grounded to the same region
    (`sum_r p_i(r) p_j(r)` over real regions, not the "no region" slot).
    Mentions of docs without regions (`has_regions` False) keep the cosine."""
    sim = embeddings @ embeddings.T
    if agreement_weight:
        probs = torch.softmax(logits, dim=-1)[:, 1:]
        weight = agreement_weight * has_regions.to(sim.dtype).unsqueeze(1)
        sim = sim + weight * (probs @ probs.T - sim)
    return sim


def supervised_contrastive_loss(
    sim: torch.Tensor, doc_index: torch.Tensor, positives: torch.Tensor,
    mask: torch.Tensor, temperature: float,
) -> torch.Tensor:
    """Supervised contrastive loss within each doc over pairwise scores `sim`:
    positives are the given coreferent pairs (never the anchor itself); the
    denominator runs over every other mention of the doc."""
    n = sim.shape[0]
    if n == 0:
        return sim.sum() * 0.0
    sim = sim / temperature
    same_doc = doc_index.unsqueeze(0) == doc_index.unsqueeze(1)
    not_self = ~torch.eye(n, dtype=torch.bool, device=sim.device)
    candidates = same_doc & not_self & mask.unsqueeze(0) & mask.unsqueeze(1)
    positives = candidates & positives
    n_pos = positives.sum(dim=1)
    anchors = n_pos > 0
    if not bool(anchors.any()):
        return sim.sum() * 0.0
    sim = sim.masked_fill(~candidates, -1e9)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos_log_prob = (log_prob * positives).sum(dim=1)[anchors] / n_pos[anchors]
    return -pos_log_prob.mean()


def grounding_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a set of acceptable slots: -log of their total probability."""
    if not bool(mask.any()):
        return logits.sum() * 0.0
    log_probs = torch.log_softmax(logits[mask], dim=-1)
    chosen = log_probs.masked_fill(target[mask] <= 0, -1e9)
    return -torch.logsumexp(chosen, dim=-1).mean()


def soft_grounding_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a soft target distribution (rows summing to 1)."""
    if not bool(mask.any()):
        return logits.sum() * 0.0
    log_probs = torch.log_softmax(logits[mask], dim=-1).clamp(min=-1e4)
    return -(target[mask] * log_probs).sum(dim=-1).mean()


def apply_deltas(boxes: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Refine normalised `x1, y1, x2, y2` boxes by `(dx, dy, dw, dh)` deltas."""
    w = (boxes[:, 2] - boxes[:, 0]).clamp(min=1e-4)
    h = (boxes[:, 3] - boxes[:, 1]).clamp(min=1e-4)
    cx, cy = boxes[:, 0] + 0.5 * w, boxes[:, 1] + 0.5 * h
    weights = deltas.new_tensor(DELTA_WEIGHTS)
    d = deltas / weights
    dw = d[:, 2].clamp(max=DELTA_SCALE_CLAMP)
    dh = d[:, 3].clamp(max=DELTA_SCALE_CLAMP)
    pcx, pcy = cx + d[:, 0] * w, cy + d[:, 1] * h
    pw, ph = w * torch.exp(dw), h * torch.exp(dh)
    return torch.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw, pcy + 0.5 * ph], dim=1)


def bbox_loss(deltas: torch.Tensor, source: torch.Tensor, gold: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 between refined and gold boxes, normalised coordinates, real mentions only."""
    if not bool(mask.any()):
        return deltas.sum() * 0.0
    refined = apply_deltas(source[mask], deltas[mask])
    return torch.nn.functional.smooth_l1_loss(refined, gold[mask], beta=0.01, reduction="none").sum(-1).mean()


def image_text_contrastive_loss(
    text: torch.Tensor, regions: torch.Tensor, doc_index: torch.Tensor,
    first_rows: torch.Tensor, n_regions: torch.Tensor, docs: torch.Tensor, temperature: float,
) -> torch.Tensor:
    """Image-text contrastive loss over the docs of a batch: text b and image b'
    score the mean over b's mentions of their best cosine with b' 's regions;
    cross-entropy picks the true pairing in both directions."""
    if docs.numel() < 2:
        return text.sum() * 0.0
    image = regions[first_rows[docs]]  # [D, R, width]
    r = image.shape[1]
    region_ok = torch.arange(r, device=text.device).unsqueeze(0) < n_regions[docs].unsqueeze(1)
    sim = torch.einsum("nw,drw->ndr", text, image).masked_fill(~region_ok.unsqueeze(0), -2.0)
    best = sim.max(dim=-1).values  # [N, D]
    member = (doc_index.unsqueeze(1) == docs.unsqueeze(0)).to(best.dtype)  # [N, D]
    scores = (member.T @ best) / member.sum(dim=0).clamp(min=1).unsqueeze(1)  # [D text, D image]
    labels = torch.arange(docs.numel(), device=text.device)
    scores = scores / temperature
    return 0.5 * (
        torch.nn.functional.cross_entropy(scores, labels)
        + torch.nn.functional.cross_entropy(scores.T, labels)
    )


def mean_antecedent_loss(scores: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """`antecedent_loss` averaged over the mentions that have a target (a row
    of `gold` with a True); 0 when none has."""
    rows = gold.any(dim=1)
    if not bool(rows.any()):
        return scores.sum() * 0.0
    return antecedent_loss(scores[rows], gold[rows]) / rows.sum()


def loss_and_gradient(
    arrays: Tuple, targets: Targets, row_docs, n_regions,
    weights: Dict[str, float], temperature: float, itc_temperature: float,
    agreement_weight: float = 0.0,
) -> Tuple[Dict[str, float], Tuple]:
    """Every objective with a non-zero weight, and the gradient of their weighted
    sum with respect to the model outputs (thinc arrays, in the order of
    `CorefOutputs.arrays`)."""
    leaves = [xp2torch(a, requires_grad=True) for a in arrays]
    emb, logits, deltas, text, regions, antecedents = leaves
    ranking = targets.antecedent_gold is not None
    device = emb.device

    def tensor(a, dtype=None):
        return torch.as_tensor(numpy.asarray(a), device=device, dtype=dtype)

    doc_index = tensor(targets.doc_index)
    losses = {}
    if not ranking and (weights.get("coref") or weights.get("label_prop")):
        has_regions = tensor(numpy.asarray(n_regions, dtype="int64"))[doc_index] > 0
        sim = coreference_similarity(emb, logits, agreement_weight, has_regions)
    if weights.get("coref") and ranking:
        losses["coref"] = mean_antecedent_loss(antecedents, tensor(targets.antecedent_gold, torch.bool))
    elif weights.get("coref"):
        losses["coref"] = supervised_contrastive_loss(
            sim, doc_index, tensor(targets.positives, torch.bool),
            tensor(targets.coref_mask, torch.bool), temperature,
        )
    if weights.get("grounding"):
        losses["grounding"] = grounding_loss(
            logits, tensor(targets.ground_target, torch.float32), tensor(targets.ground_mask, torch.bool)
        )
    if weights.get("bbox"):
        losses["bbox"] = bbox_loss(
            deltas, tensor(targets.box_source, torch.float32), tensor(targets.box_gold, torch.float32),
            tensor(targets.box_mask, torch.bool),
        )
    if weights.get("itc"):
        row_docs = numpy.asarray(row_docs, dtype="int64")
        first_rows = numpy.zeros((len(n_regions),), dtype="int64")
        for row in range(len(row_docs) - 1, -1, -1):
            first_rows[row_docs[row]] = row
        losses["itc"] = image_text_contrastive_loss(
            text, regions, doc_index, tensor(first_rows), tensor(numpy.asarray(n_regions, dtype="int64")),
            tensor(targets.itc_docs.astype("int64")), itc_temperature,
        )
    if weights.get("label_prop"):
        if ranking:
            pseudo_coref = mean_antecedent_loss(antecedents, tensor(targets.pseudo_antecedents, torch.bool))
        else:
            pseudo_coref = supervised_contrastive_loss(
                sim, doc_index, tensor(targets.pseudo_positives, torch.bool),
                tensor(targets.pseudo_mask, torch.bool), temperature,
            )
        losses["label_prop"] = pseudo_coref + grounding_loss(
            logits, tensor(targets.pseudo_ground_target, torch.float32),
            tensor(targets.pseudo_ground_mask, torch.bool),
        )
    if weights.get("trace") and targets.trace_target is not None:
        losses["trace"] = soft_grounding_loss(
            logits, tensor(targets.trace_target, torch.float32), tensor(targets.trace_mask, torch.bool)
        )
    total = sum(weights[name] * loss for name, loss in losses.items())
    if isinstance(total, torch.Tensor) and total.requires_grad:
        total.backward()
    grads = tuple(
        torch2xp(t.grad) if t.grad is not None else torch2xp(torch.zeros_like(t)) for t in leaves
    )
    return {name: float(loss.detach()) for name, loss in losses.items()}, grads
