"""scratchgen's gpt side by side with a PyTorch twin: same architecture, same initial weights
(copied from ours), same batches, same AdamW param groups, clipping and learning-rate
schedule. Prints both loss curves, their largest difference, and the median time of one
training step of each.

    python bench/gpt_vs_torch.py                        # float64, the default gpt, 5 steps
    python bench/gpt_vs_torch.py --dtype float32 --steps 20
    python bench/gpt_vs_torch.py --layers 2 --d-model 64 --block-size 32 --batch-size 8

torch is the oracle here (the test extra); nothing under scratchgen/ imports it. The twin
names its parameters as scratchgen's Transformer does, so state_dict() copies straight over.
tests/models/test_gpt.py loads this file for its fast float64 check.
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as TF

from scratchgen.engine.backend import keep_freed_memory
from scratchgen.models.gpt import matrices_and_rest
from scratchgen.optim import warmup_cosine
from scratchgen.training import make_config
from scratchgen.training.loop import build


class TorchBlock(torch.nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.ln_1 = torch.nn.LayerNorm(d_model)
        self.attn = torch.nn.Module()
        self.attn.c_attn = torch.nn.Linear(d_model, 3 * d_model)
        self.attn.c_proj = torch.nn.Linear(d_model, d_model)
        self.ln_2 = torch.nn.LayerNorm(d_model)
        self.mlp = torch.nn.Module()
        self.mlp.c_fc = torch.nn.Linear(d_model, 4 * d_model)
        self.mlp.c_proj = torch.nn.Linear(4 * d_model, d_model)

    def attention(self, x):
        b, t, d = x.shape
        q, k, v = self.attn.c_attn(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2)
                   for z in (q, k, v))                                  # (B, H, T, d_k)
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.attn.c_proj(y.transpose(1, 2).reshape(b, t, d))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class TorchGPT(torch.nn.Module):
    def __init__(self, vocab_size, block_size, layers, d_model, n_heads, tie_weights=False):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab_size, d_model)
        self.wpe = torch.nn.Embedding(block_size, d_model)
        self.blocks = torch.nn.ModuleList([TorchBlock(d_model, n_heads) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d_model)
        self.lm_head = torch.nn.Linear(d_model, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.wte.weight

    def forward(self, ids):
        h = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for block in self.blocks:
            h = block(h)
        return self.lm_head(self.ln_f(h))


class TorchTrainer:
    """The twin of GPT.train_step: loss, backward, clip, AdamW step, next learning rate."""

    def __init__(self, model):
        c = model.config
        self.config = c
        dtype = {"float32": torch.float32, "float64": torch.float64}[c["dtype"]]
        self.net = TorchGPT(len(model.dataset.vocab), c["block_size"], c["layers"], c["d_model"],
                            c["heads"], c["tie_weights"]).to(dtype)
        self.net.load_state_dict({k: torch.from_numpy(v.copy())
                                  for k, v in model.network.state_dict().items()})
        # The same param groups as scratchgen's, matched by name.
        ours = dict(model.network.named_parameters())
        theirs = dict(self.net.named_parameters())
        decay_ids = {id(p) for p in matrices_and_rest(model.network)[0]}
        decay = [theirs[n] for n, p in ours.items() if id(p) in decay_ids]
        rest = [theirs[n] for n, p in ours.items() if id(p) not in decay_ids]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": c["weight_decay"]},
                                      {"params": rest, "weight_decay": 0.0}],
                                     lr=c["lr"], betas=(0.9, c["beta2"]), eps=1e-8)
        self.step_count = 0
        self.set_lr()

    def set_lr(self):
        c = self.config
        lr = warmup_cosine(self.step_count, c["lr"], c["warmup"], c["steps"], c["min_lr"])
        for group in self.opt.param_groups:
            group["lr"] = lr

    def train_step(self, batch):
        x, y = (torch.from_numpy(a) for a in batch)
        self.opt.zero_grad()
        logits = self.net(x)
        loss = TF.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.net.parameters(),
                                       self.config["grad_clip"] or math.inf)
        self.opt.step()
        self.step_count += 1
        self.set_lr()
        return loss.item()


def gpt_and_twin(**settings):
    """A fresh scratchgen GPT (seeded) and its PyTorch twin with the same weights."""
    config = make_config("gpt", out="unused", **settings)
    _, model = build(config)
    return model, TorchTrainer(model)


def loss_curves(model, twin, steps, seed=0):
    """Train both on the same `steps` batches; (ours, theirs, max |param difference|)."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for _ in range(steps):
        batch = model.next_batch(rng)
        ours.append(model.train_step(batch)["loss"])
        theirs.append(twin.train_step(batch))
    theirs_state = twin.net.state_dict()
    param_diff = max(float(np.abs(v - theirs_state[k].detach().numpy()).max())
                     for k, v in model.network.state_dict().items())
    return np.array(ours), np.array(theirs), param_diff


def median_step_time(step, batches):
    times = []
    for batch in batches:
        start = time.perf_counter()
        step(batch)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))  # the first step warms caches and allocators


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--steps", type=int, default=5, help="steps of the loss comparison")
    parser.add_argument("--timing-steps", type=int, default=11)
    parser.add_argument("--layers", type=int)
    parser.add_argument("--d-model", type=int)
    parser.add_argument("--heads", type=int)
    parser.add_argument("--block-size", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as the scratchgen command line does
    settings = {k: v for k, v in dict(layers=args.layers, d_model=args.d_model, heads=args.heads,
                                      block_size=args.block_size,
                                      batch_size=args.batch_size).items() if v is not None}
    # warm-up of 2 steps so the curve also crosses the schedule's corner
    model, twin = gpt_and_twin(dtype=args.dtype, warmup=2, **settings)
    c = model.config
    print(f"gpt {c['layers']} layers x {c['d_model']}, {c['heads']} heads, "
          f"block {c['block_size']}, batch {c['batch_size']}, {model.num_parameters()} "
          f"parameters, {args.dtype}")
    ours, theirs, param_diff = loss_curves(model, twin, args.steps)
    print(f"{'step':>4}  {'scratchgen':>20}  {'torch':>20}  {'|difference|':>12}")
    for i, (a, b) in enumerate(zip(ours, theirs), 1):
        print(f"{i:>4}  {a:>20.15f}  {b:>20.15f}  {abs(a - b):>12.3g}")
    print(f"max |loss difference| {np.abs(ours - theirs).max():.3g}; "
          f"max |parameter difference| after {args.steps} steps {param_diff:.3g}")

    rng = np.random.default_rng(1)
    batches = [model.next_batch(rng) for _ in range(args.timing_steps)]
    ours_t = median_step_time(model.train_step, batches)
    theirs_t = median_step_time(twin.train_step, batches)
    tokens = c["batch_size"] * c["block_size"]
    print(f"median training step: scratchgen {ours_t * 1000:.1f} ms ({tokens / ours_t:.0f} "
          f"tokens/s), torch {theirs_t * 1000:.1f} ms ({tokens / theirs_t:.0f} tokens/s), "
          f"ratio {ours_t / theirs_t:.2f}")


if __name__ == "__main__":
    main()
