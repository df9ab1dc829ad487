"""Optimizers, gradient clipping and learning-rate schedules (PyTorch's torch.optim, rebuilt).

    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
"""
from .clip import clip_grad_norm_
from .optimizers import SGD, Adam, AdamW, Optimizer
from .schedules import WarmupCosine, warmup_cosine

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "clip_grad_norm_", "WarmupCosine",
           "warmup_cosine"]
