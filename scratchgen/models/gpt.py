"""A character-level GPT: a decoder-only transformer (Vaswani et al. 2017; Radford et al.
2018, 2019), trained to predict the next character of a text.

The model (GPT-1, Radford et al. 2018, eq. 2; with GPT-2's pre-norm blocks):
    h_0 = U W_e + W_p                      token embedding + position embedding
    h_l = block(h_(l-1))                   l = 1 .. L
    P(u) = softmax(LN(h_L) W_y)            a distribution over the next character

A pre-norm block (Radford et al. 2019, section 2.3: "layer normalization was moved to the
input of each sub-block ... and an additional layer normalization was added after the final
self-attention block"):
    x <- x + Dropout(MultiHead(LN_1(x)))   causal self-attention
    x <- x + Dropout(FFN(LN_2(x)))         position-wise MLP

Causal multi-head self-attention (Vaswani et al. 2017, section 3.2):
    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V            (eq. 1)
    head_i = Attention(X W^Q_i, X W^K_i, X W^V_i)
    MultiHead(X) = concat(head_1 .. head_h) W^O                        (section 3.2.2)
M[i, j] = -inf for j > i, so position i reads only positions 0..i: no information flows
from the future (section 3.2.3, "masking out ... all values in the input of the softmax
which correspond to illegal connections").

Position-wise MLP (Vaswani eq. 2, with GELU in place of ReLU as in GPT):
    FFN(x) = GELU(x W_1 + b_1) W_2 + b_2,  W_1: d -> 4d,  W_2: 4d -> d
    GELU(x) ~ 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))   (Hendrycks and Gimpel
    2016; the form GPT-2's code uses, and on the CPU np.tanh is ~40x cheaper than erf)

Training objective (Radford et al. 2018, eq. 1): the mean negative log-likelihood of every
next character of a random window, in nats per character:
    L = -1/(B T) sum_(b, t) log P(x_(b, t+1) | x_(b, 0..t))

Optimisation as in nanoGPT: AdamW (Loshchilov and Hutter 2019) with weight decay on the
weight matrices of the linear layers only (not on biases, LayerNorm gains or embeddings),
linear warm-up then cosine decay of the learning rate, and gradient clipping by global norm
(Pascanu et al. 2013).

Initialisation (GPT-2): weights ~ N(0, 0.02), biases 0, and the output projections of each
residual branch (attention W^O and the MLP's W_2) ~ N(0, 0.02 / sqrt(2 L)), "to account for
the accumulation on the residual path with model depth" (Radford et al. 2019, section 2.3).
"""
import math

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..data import text_batches
from ..engine import random as sg_random
from ..engine.function import no_grad
from ..nn import init
from .base import Evaluation, GenerativeModel, Picture, no_progress
from .options import Option

INIT_STD = 0.02


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask, on a flattened batch.

    x: (B*T, d) -> (B*T, d). The projections work on 2-D arrays, so each is one matrix
    product (one BLAS call) rather than B small ones."""

    def __init__(self, d_model, n_heads, dropout=0.0, dtype=None):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by heads ({n_heads})")
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.c_attn = nn.Linear(d_model, 3 * d_model, dtype=dtype)  # W^Q, W^K, W^V stacked
        self.c_proj = nn.Linear(d_model, d_model, dtype=dtype)      # W^O
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x, batch, length):
        d = x.shape[-1]
        qkv = self.c_attn(x)                                        # (B*T, d) -> (B*T, 3d)
        qkv = qkv.reshape(batch, length, 3, self.n_heads, self.head_dim)
        qkv = qkv.transpose(2, 0, 3, 1, 4)                          # (3, B, H, T, d_k)
        q, k, v = qkv[0], qkv[1], qkv[2]                            # (B, H, T, d_k) each
        # softmax(Q K^T / sqrt(d_k) + M) V with M = -inf above the diagonal     (eq. 1)
        heads = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, d_k)
        concat = heads.transpose(0, 2, 1, 3).reshape(batch * length, d)  # (B*T, H*d_k)
        return self.resid_dropout(self.c_proj(concat))              # concat(heads) W^O


class MLP(nn.Module):
    """FFN(x) = GELU(x W_1 + b_1) W_2 + b_2   (Vaswani eq. 2 with GELU, tanh form)."""

    def __init__(self, d_model, dropout=0.0, dtype=None):
        super().__init__()
        self.c_fc = nn.Linear(d_model, 4 * d_model, dtype=dtype)    # W_1
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * d_model, d_model, dtype=dtype)  # W_2
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))  # (B*T, d) -> (B*T, d)


class Block(nn.Module):
    """x + Attn(LN_1(x)), then + MLP(LN_2(x))   (pre-norm, Radford et al. 2019, 2.3)."""

    def __init__(self, d_model, n_heads, dropout=0.0, dtype=None):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model, dtype=dtype)
        self.attn = CausalSelfAttention(d_model, n_heads, dropout, dtype)
        self.ln_2 = nn.LayerNorm(d_model, dtype=dtype)
        self.mlp = MLP(d_model, dropout, dtype)

    def forward(self, x, batch, length):
        x = x + self.attn(self.ln_1(x), batch, length)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """Token ids (B, T) -> next-character logits (B, T, V)."""

    def __init__(self, vocab_size, block_size, layers, d_model, n_heads, dropout=0.0,
                 tie_weights=False, dtype=None):
        super().__init__()
        self.block_size = block_size
        self.wte = nn.Embedding(vocab_size, d_model, dtype=dtype)   # W_e
        self.wpe = nn.Embedding(block_size, d_model, dtype=dtype)   # W_p
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(d_model, n_heads, dropout, dtype)
                                     for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d_model, dtype=dtype)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False, dtype=dtype)  # W_y
        if tie_weights:  # W_y = W_e^T (Press and Wolf 2017), as GPT-1's P(u) = softmax(h W_e^T)
            self.lm_head.weight = self.wte.weight
        self.reset_parameters(layers)

    def reset_parameters(self, layers):
        """GPT-2's initialisation (see the module docstring); LayerNorms keep gain 1, bias 0."""
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                residual_out = name.endswith("c_proj")  # W^O and W_2 end a residual branch
                init.normal_(module.weight, std=INIT_STD / math.sqrt(2 * layers)
                             if residual_out else INIT_STD)
            if isinstance(module, nn.Linear) and module.bias is not None:
                init.zeros_(module.bias)

    def forward(self, ids):
        ids = np.asarray(ids)
        batch, length = ids.shape
        if length > self.block_size:
            raise ValueError(f"a context of {length} characters is longer than the block "
                             f"size {self.block_size}")
        positions = np.arange(length)
        # h_0 = U W_e + W_p                                         (Radford et al. 2018, eq. 2)
        h = self.wte(ids.reshape(-1)).reshape(batch, length, -1) + self.wpe(positions)
        h = self.drop(h.reshape(batch * length, -1))                # (B*T, d)
        for block in self.blocks:
            h = block(h, batch, length)                             # h_l = block(h_(l-1))
        logits = self.lm_head(self.ln_f(h))                         # (B*T, V)
        return logits.reshape(batch, length, -1)                    # (B, T, V)


def next_char_loss(logits, targets):
    """L = -1/(B T) sum log P(x_(t+1) | x_(<=t))   (Radford et al. 2018, eq. 1), in nats.

    logits (B, T, V), targets (B, T) ints -> a scalar Tensor."""
    vocab = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, vocab), np.asarray(targets).reshape(-1))


def bigram_loss(train, test, vocab_size):
    """Nats per character of an add-one (Laplace) bigram model fitted on `train`, on `test`:

        P(b | a) = (count(a, b) + 1) / (count(a) + V)
        loss     = -1/(N - 1) sum_t log P(test[t+1] | test[t])
    """
    counts = np.zeros((vocab_size, vocab_size), dtype=np.float64)
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    log_p = np.log(counts + 1.0) - np.log(counts.sum(axis=1, keepdims=True) + vocab_size)
    return float(-log_p[test[:-1], test[1:]].mean())


def matrices_and_rest(network):
    """AdamW param groups: the linear layers' weight matrices decay, nothing else does
    (biases, LayerNorm gains and embeddings are left alone, as in minGPT/nanoGPT)."""
    embeddings = {id(m.weight) for m in network.modules() if isinstance(m, nn.Embedding)}
    decay, rest = [], []
    for name, p in network.named_parameters():
        is_matrix = p.ndim >= 2 and id(p) not in embeddings
        (decay if is_matrix else rest).append(p)
    return decay, rest


class GPT(GenerativeModel):
    name = "gpt"
    description = "character-level decoder-only transformer (GPT) on pydoc or --text-file"
    dataset_kinds = ("text",)
    default_dataset = "pydoc"
    options = (
        Option("steps", 1000, "total optimisation steps"),
        Option("batch_size", 32, "windows per minibatch"),
        Option("lr", 3e-3, "peak learning rate (after the warm-up)", minimum=0.0),
        Option("checkpoint_every", 250, "steps between checkpoints"),
        Option("layers", 4, "transformer blocks L"),
        Option("d_model", 128, "width d of the residual stream"),
        Option("heads", 4, "attention heads (d_model must divide by it)"),
        Option("block_size", 64, "context length T in characters"),
        Option("dropout", 0.0, "residual and embedding dropout", minimum=0.0, maximum=1.0),
        Option("weight_decay", 0.1, "AdamW decoupled weight decay (matrices)", minimum=0.0),
        Option("warmup", 100, "linear warm-up steps of the learning rate", minimum=0),
        Option("min_lr", 3e-4, "learning rate at the end of the cosine decay", minimum=0.0),
        Option("beta2", 0.99, "AdamW beta2", minimum=0.0),
        Option("grad_clip", 1.0, "clip the gradients' global norm to this (0: no clipping)",
               minimum=0.0),
        Option("tie_weights", False, "share the token embedding and output head"),
        Option("dtype", "float32", "parameter dtype (float64 for exact comparisons)",
               choices=("float32", "float64")),
        Option("eval_batch", 64, "windows per forward pass in evaluation"),
    )
    sample_options = ("prompt", "temperature", "top_k")

    def build(self):
        c = self.config
        if c["warmup"] > c["steps"]:
            raise ValueError(f"--warmup ({c['warmup']}) must not exceed --steps ({c['steps']})")
        self.dtype = np.dtype(c["dtype"])
        self.network = Transformer(len(self.dataset.vocab), c["block_size"], c["layers"],
                                   c["d_model"], c["heads"], c["dropout"], c["tie_weights"],
                                   dtype=self.dtype)
        decay, rest = matrices_and_rest(self.network)
        self.optimizer = optim.AdamW(
            [{"params": decay, "weight_decay": c["weight_decay"]},
             {"params": rest, "weight_decay": 0.0}],
            lr=c["lr"], betas=(0.9, c["beta2"]))
        self.networks = {"transformer": self.network}
        self.optimizers = {"adamw": self.optimizer}
        self.schedulers = {"adamw": optim.lr_scheduler.WarmupCosineLR(
            self.optimizer, c["warmup"], c["steps"], min_lr=c["min_lr"])}

    # ---- training -------------------------------------------------------------------
    def next_batch(self, rng):
        """(x, y): random windows of the training text, y the next characters of x."""
        c = self.config
        return text_batches(self.dataset.train, c["block_size"], c["batch_size"], rng)

    def train_step(self, batch):
        x, y = batch
        self.optimizer.zero_grad()
        loss = next_char_loss(self.network(x), y)
        loss.backward()
        grad_norm = optim.clip_grad_norm_(self.network.parameters(),
                                          self.config["grad_clip"] or math.inf)
        self.optimizer.step()
        self.step_schedulers()  # the learning rate of the next step
        return {"loss": loss.item(), "grad_norm": grad_norm}

    # ---- evaluation -------------------------------------------------------------------
    def split_loss(self, tokens, progress=no_progress):
        """Nats per character on a whole token stream, cut into consecutive windows of
        block_size + 1 characters (the last one shorter): every character after the first
        of each window is predicted once, from the characters before it in its window."""
        block, total = self.config["block_size"], 0.0
        starts = list(range(0, len(tokens) - 1, block))
        with no_grad():
            full = [s for s in starts if s + block + 1 <= len(tokens)]
            for i in range(0, len(full), self.config["eval_batch"]):
                offsets = np.asarray(full[i:i + self.config["eval_batch"]])
                windows = tokens[offsets[:, None] + np.arange(block + 1)]  # (B, T + 1)
                total += self._summed_loss(windows)
                progress("validation loss", i + len(offsets), len(full))
            for s in starts[len(full):]:  # the short last window
                total += self._summed_loss(tokens[None, s:])
        return total / (len(tokens) - 1)  # every character but the very first, once

    def _summed_loss(self, windows):
        x, y = windows[:, :-1], windows[:, 1:]
        logits = self.network(x).numpy().astype(np.float64)  # (B, T, V)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        return float(-np.take_along_axis(log_p, y[..., None], axis=-1).sum())

    def evaluate(self, rng, progress=no_progress):
        vocab = len(self.dataset.vocab)
        return Evaluation({"val_loss": self.split_loss(self.dataset.test, progress),
                           "bigram_val_loss": bigram_loss(self.dataset.train, self.dataset.test,
                                                          vocab),
                           "parameters": self.num_parameters()})

    # ---- sampling ---------------------------------------------------------------------
    def next_char_logits(self, ids):
        """Logits (V,) of the character after `ids` (the last block_size of them)."""
        context = np.asarray(ids[-self.config["block_size"]:])[None, :]  # (1, T)
        with no_grad():
            return self.network(context).numpy()[0, -1].astype(np.float64)

    def sample(self, n, prompt="", temperature=1.0, top_k=None, progress=no_progress,
               **options):
        """The prompt followed by n generated characters, as a string.

        Each character is drawn from softmax(logits / temperature), restricted to the top_k
        likeliest when top_k is given; temperature 0 takes the likeliest (greedy). An empty
        prompt starts from a newline (or the first character of the vocabulary)."""
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        rng, vocab = sg_random.generator(), self.dataset.vocab
        start = prompt or ("\n" if "\n" in vocab else vocab[0])
        ids = list(self.dataset.encode(start))
        for _ in range(n):
            logits = self.next_char_logits(ids)
            if temperature == 0:
                ids.append(int(np.argmax(logits)))
                continue
            logits = logits / temperature
            if top_k is not None and top_k < len(logits):
                kth = np.sort(logits)[-top_k]
                logits = np.where(logits < kth, -np.inf, logits)
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
            progress("characters", len(ids) - len(start), n)
        text = self.dataset.decode(ids)
        return text if prompt else text[len(start):]

    # ---- pictures ---------------------------------------------------------------------
    PICTURE_SAMPLES = (("def ", 0.8, 20), ("", 1.0, None))  # (prompt, temperature, top_k)

    def pictures(self, rng, evaluation):
        """samples.txt and samples.png: a prompted sample at temperature 0.8 with top-k 20,
        and an unprompted one from the model's own distribution (temperature 1)."""
        parts = []
        for prompt, temperature, top_k in self.PICTURE_SAMPLES:
            text = self.sample(600, prompt=prompt, temperature=temperature, top_k=top_k)
            parts.append((f"prompt {prompt!r}, temperature {temperature}, top-k {top_k}", text))
        text_file = Picture("samples.txt", "file",
                            "".join(f"=== {title} ===\n{text}\n\n" for title, text in parts))
        return [text_file, self.samples_picture(parts, metrics=evaluation.metrics)]

    def samples_picture(self, samples, name="samples.png", metrics=None):
        """Text set in a monospace font. samples: a string or [(title, text), ...]."""
        if isinstance(samples, str):
            samples = [("sample", samples)]
        c = self.config
        scores = (f"; val_loss {metrics['val_loss']:.3f} nats/char (bigram "
                  f"{metrics['bigram_val_loss']:.3f})" if metrics else "")
        return Picture(name, "text", samples,
                       title=f"gpt ({c['layers']} layers x {c['d_model']}, block "
                             f"{c['block_size']}) on {self.dataset.name}{scores}: generated text")
