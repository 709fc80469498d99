"""Training objectives, computed with torch autograd on the model's outputs."""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy
import torch
from thinc.api import torch2xp, xp2torch

from .boxes import DELTA_SCALE_CLAMP, DELTA_WEIGHTS


@dataclass
class LabelledTargets:
    """Targets for the labelled objectives, one row per mention of the batch.

    doc_index: [N] the doc each mention belongs to.
    cluster: [N] gold cluster id (unique within a doc), or -1 for a mention
        outside every gold cluster (then it is only a negative).
    coref_mask: [N] mention belongs to a doc with gold clusters.
    ground_target: [N, R + 1] 1 for each acceptable grounding slot (0 = no region).
    ground_mask: [N] mention has a grounding target.
    box_source, box_gold: [N, 4] normalised `x1, y1, x2, y2` of the region the
        deltas refine and of the gold box.
    box_mask: [N] mention has a box target.
    """

    doc_index: numpy.ndarray
    cluster: numpy.ndarray
    coref_mask: numpy.ndarray
    ground_target: numpy.ndarray
    ground_mask: numpy.ndarray
    box_source: numpy.ndarray
    box_gold: numpy.ndarray
    box_mask: numpy.ndarray


def supervised_contrastive_loss(
    embeddings: torch.Tensor, doc_index: torch.Tensor, cluster: torch.Tensor,
    mask: torch.Tensor, temperature: float,
) -> torch.Tensor:
    """Supervised contrastive loss within each doc: positives are the other
    mentions of the same gold cluster (never the anchor itself); the denominator
    runs over every other mention of the doc."""
    n = embeddings.shape[0]
    sim = embeddings @ embeddings.T / temperature
    same_doc = doc_index.unsqueeze(0) == doc_index.unsqueeze(1)
    not_self = ~torch.eye(n, dtype=torch.bool, device=embeddings.device)
    candidates = same_doc & not_self & mask.unsqueeze(0) & mask.unsqueeze(1)
    positives = candidates & (cluster.unsqueeze(0) == cluster.unsqueeze(1)) & (cluster.unsqueeze(1) >= 0)
    n_pos = positives.sum(dim=1)
    anchors = n_pos > 0
    if not bool(anchors.any()):
        return embeddings.sum() * 0.0
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


def labelled_loss_and_gradient(
    embeddings, ground_logits, box_deltas, targets: LabelledTargets,
    weights: Dict[str, float], temperature: float,
) -> Tuple[Dict[str, float], Tuple]:
    """The labelled losses (coref, grounding, bbox) and the gradient of their
    weighted sum with respect to the three model outputs (thinc arrays)."""
    emb = xp2torch(embeddings, requires_grad=True)
    logits = xp2torch(ground_logits, requires_grad=True)
    deltas = xp2torch(box_deltas, requires_grad=True)
    device = emb.device

    def tensor(a, dtype=None):
        return torch.as_tensor(numpy.asarray(a), device=device, dtype=dtype)

    losses = {
        "coref": supervised_contrastive_loss(
            emb, tensor(targets.doc_index), tensor(targets.cluster),
            tensor(targets.coref_mask, torch.bool), temperature,
        ),
        "grounding": grounding_loss(
            logits, tensor(targets.ground_target, torch.float32), tensor(targets.ground_mask, torch.bool)
        ),
        "bbox": bbox_loss(
            deltas, tensor(targets.box_source, torch.float32), tensor(targets.box_gold, torch.float32),
            tensor(targets.box_mask, torch.bool),
        ),
    }
    total = sum(weights[name] * loss for name, loss in losses.items() if weights.get(name, 0.0))
    if isinstance(total, torch.Tensor) and total.requires_grad:
        total.backward()
    grads = tuple(
        torch2xp(t.grad) if t.grad is not None else torch2xp(torch.zeros_like(t))
        for t in (emb, logits, deltas)
    )
    return {name: float(loss.detach()) for name, loss in losses.items()}, grads
