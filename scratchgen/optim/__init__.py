"""Optimizers, gradient clipping and learning-rate schedules (PyTorch's torch.optim, rebuilt).

    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=1000)
    loss.backward()
    optim.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()
"""
from . import lr_scheduler
from .clip import clip_grad_norm_
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from .lr_scheduler import WarmupCosineLR, warmup_cosine

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "clip_grad_norm_",
           "lr_scheduler", "WarmupCosineLR", "warmup_cosine"]
