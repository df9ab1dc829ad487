"""What the kernel benchmark measures: one family of registry ops per kind of kernel.

A family is a set of registry ops timed together (convolution is its forward plus its two
gradients), a sweep of problem sizes, a FLOP count per size, and the implementations that
run it:

    versions   every kernel name registered for the family's ops on the CPU, read from the
               registry (scratchgen.kernels.available), "reference" first: the truth
    peers      the libraries we compare against, run on the same arrays in the same process:
               NumPy's @ (OpenBLAS) for matmul, torch CPU for convolution and attention

Each implementation is prepared once per problem (`prepare(inputs) -> call`) and `call()`
returns its outputs by name together with the seconds each op took, so a family's time is
the sum of its ops and the breakdown is kept:

    call() -> ({"out": ..., "dx": ..., ...}, {"forward": s, "backward_input": s, ...})

FLOP conventions (the counts behind every GFLOP/s the harness reports):
    matmul       2 M N K per product (times the batch)
    conv2d       3 x 2 N O (C/g) kh kw OH OW: forward, input gradient and weight gradient
                 are each one GEMM of that size
    attention    FlashAttention-2's count: forward 4 B N^2 d (Q K^T and P V, 2 flops per
                 multiply-add), halved when causal; backward 2.5x the forward (five GEMMs
                 against two); the family is timed forward+backward, so 3.5x the forward
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from scratchgen import kernels
from scratchgen.engine.dispatch import REFERENCE
from scratchgen.engine.reference_kernels import conv_output_size


@dataclass
class Problem:
    """One point of a sweep: a label for tables, a coordinate for plots, its FLOPs."""
    label: str
    x: float                     # the plot's horizontal coordinate (N, or the shape's index)
    flops: float
    params: dict                 # the shapes, as JSON
    make_inputs: object          # rng, dtype -> {name: array}


@dataclass
class Implementation:
    name: str
    kind: str                    # "version" (a registry kernel) or "peer"
    prepare: object              # inputs -> call() -> (outputs, seconds per op)
    label: str = ""              # longer name for tables and plots
    note: str = ""               # e.g. the ops it borrowed from the reference
    kernels: dict = field(default_factory=dict)   # registry op -> kernel name


class Stopwatch:
    """Runs the steps of one call and keeps the seconds each took, by name."""

    def __init__(self):
        self.seconds = {}

    def run(self, name, fn, *args):
        start = time.perf_counter()
        result = fn(*args)
        self.seconds[name] = time.perf_counter() - start
        return result


def import_torch():
    """torch, or None: torch is a peer at run time only, never a dependency."""
    try:
        import torch
    except ImportError:
        return None
    return torch


class Family:
    """Base class: the versions come from the registry, the rest from the subclass."""
    name = ""
    ops = ()                     # the registry ops a version runs, in call order
    size_name = "N"              # what a plain --sizes number sets
    default_sizes = ()
    quick_sizes = ()
    log_x = True                 # plot the sizes on a log axis
    compare_with = ()            # the implementations every row gets a speed ratio against
    plot_memory = False          # add a peak-memory panel to the plot
    flop_convention = ""

    def __init__(self, quick=False):
        self.quick = quick

    def problems(self, sizes):
        return [self.problem(s) for s in sizes]

    def missing_ops(self):
        registered = kernels.available()
        return [op for op in self.ops if op not in registered]

    def versions(self):
        """One Implementation per kernel name registered for any of the family's ops.

        A name registered for some ops only runs the reference for the others, and says so in
        its note (its per-op times show which part is its own)."""
        names = sorted({name for op in self.ops for name in kernels.available(op, "cpu")})
        names.sort(key=lambda name: name != REFERENCE)
        versions = []
        for name in names:
            chosen = {op: name if name in kernels.available(op, "cpu") else REFERENCE
                      for op in self.ops}
            borrowed = [op for op, kernel in chosen.items() if kernel != name]
            note = f"reference for {', '.join(borrowed)}" if borrowed else ""
            fns = {op: kernels.get(op, kernel) for op, kernel in chosen.items()}
            versions.append(Implementation(
                name, "version", lambda inputs, fns=fns: self.run_version(fns, inputs),
                label=name, note=note, kernels=chosen))
        return versions

    def peers(self, torch):
        return []

    def reference_memory_note(self):
        return ""

    def validation_slice(self, inputs):
        """(smaller inputs, outputs -> the matching part of them) on which the reference can
        check the versions when it is too big to run whole; None where no slice is exact."""
        return None


class Matmul(Family):
    name = "matmul"
    ops = ("matmul",)
    default_sizes = (128, 256, 512, 1024, 2048)
    quick_sizes = (16, 48)
    compare_with = ("numpy",)
    flop_convention = "2 M N K per product"

    def problem(self, n):
        def make_inputs(rng, dtype):
            return {"a": rng.standard_normal((n, n)).astype(dtype),
                    "b": rng.standard_normal((n, n)).astype(dtype)}
        return Problem(f"N={n}", n, 2.0 * n ** 3, {"M": n, "N": n, "K": n}, make_inputs)

    def run_version(self, fns, inputs):
        a, b = inputs["a"], inputs["b"]
        matmul = fns["matmul"]

        def call():
            clock = Stopwatch()
            return {"out": clock.run("matmul", matmul, a, b)}, clock.seconds
        return call

    def peers(self, torch):
        def prepare(inputs):
            a, b = inputs["a"], inputs["b"]

            def call():
                clock = Stopwatch()
                return {"out": clock.run("matmul", np.matmul, a, b)}, clock.seconds
            return call
        return [Implementation("numpy", "peer", prepare, label="numpy @ (OpenBLAS)")]

    def validation_slice(self, inputs):
        rows = min(64, inputs["a"].shape[0])
        return ({"a": inputs["a"][:rows], "b": inputs["b"]},
                lambda outputs: {"out": outputs["out"][:rows]})


@dataclass(frozen=True)
class ConvShape:
    name: str
    batch: int
    in_channels: int
    out_channels: int
    size: int                    # square images: H = W
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1

    def label(self, batch):
        text = (f"{batch}x{self.in_channels}->{self.out_channels} {self.size}x{self.size} "
                f"k{self.kernel} s{self.stride} p{self.padding}")
        if self.dilation != 1:
            text += f" d{self.dilation}"
        return text + (f" g{self.groups}" if self.groups != 1 else "")


class Conv2d(Family):
    """Forward, input gradient and weight gradient, as one training step runs them."""
    name = "conv2d"
    ops = ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")
    size_name = "batch"
    log_x = False
    compare_with = ("torch", "reference")
    flop_convention = "3 x 2 N O (C/g) kh kw OH OW (forward, input and weight gradients)"
    shapes = (
        ConvShape("issue-32x32", 64, 64, 64, 32, 3, padding=1),
        ConvShape("issue-8x8", 64, 32, 32, 8, 3, padding=1),
        ConvShape("unet-downsample", 64, 32, 32, 8, 3, stride=2, padding=1),
        ConvShape("dcgan-critic-2", 64, 64, 128, 4, 4, stride=2, padding=1),
    )
    quick_shapes = (ConvShape("quick-a", 2, 3, 4, 6, 3, padding=1),
                    ConvShape("quick-b", 2, 4, 4, 5, 3, stride=2, padding=1, groups=2))
    default_sizes = (None,)      # None: each shape's own batch; --sizes sets the batch
    quick_sizes = (None,)

    def __init__(self, quick=False):
        super().__init__(quick)
        self.sweep = self.quick_shapes if quick else self.shapes

    def problems(self, sizes):
        return [self.problem(shape, batch, len(sizes) * i + j)
                for i, shape in enumerate(self.sweep) for j, batch in enumerate(sizes)]

    def problem(self, shape, batch, index):
        n = shape.batch if batch is None else batch
        s, p, d, g = shape.stride, shape.padding, shape.dilation, shape.groups
        c, o, k, hw = shape.in_channels, shape.out_channels, shape.kernel, shape.size
        out = conv_output_size(hw, k, s, p, d)
        args = {"stride": (s, s), "padding": (p, p), "dilation": (d, d), "groups": g}

        def make_inputs(rng, dtype):
            return {"x": rng.standard_normal((n, c, hw, hw)).astype(dtype),
                    "w": (rng.standard_normal((o, c // g, k, k)) / math.sqrt(c // g * k * k)
                          ).astype(dtype),
                    "g": rng.standard_normal((n, o, out, out)).astype(dtype), **args}
        flops = 3 * 2.0 * n * o * (c // g) * k * k * out * out
        params = {"shape": shape.name, "N": n, "C": c, "O": o, "H": hw, "W": hw, "kernel": k,
                  "stride": s, "padding": p, "dilation": d, "groups": g}
        return Problem(shape.label(n), index, flops, params, make_inputs)

    def run_version(self, fns, inputs):
        x, w, g = inputs["x"], inputs["w"], inputs["g"]
        conv = (inputs["stride"], inputs["padding"], inputs["dilation"], inputs["groups"])
        forward, backward_input, backward_weight = (fns[op] for op in self.ops)

        def call():
            clock = Stopwatch()
            out = clock.run("forward", forward, x, w, *conv)
            dx = clock.run("backward_input", backward_input, g, w, x.shape, *conv)
            dw = clock.run("backward_weight", backward_weight, x, g, w.shape, *conv)
            return {"out": out, "dx": dx, "dw": dw}, clock.seconds
        return call

    def peers(self, torch):
        if torch is None:
            return []

        def prepare(inputs):
            x = torch.from_numpy(inputs["x"]).requires_grad_()
            w = torch.from_numpy(inputs["w"]).requires_grad_()
            g = torch.from_numpy(inputs["g"])
            conv = (inputs["stride"], inputs["padding"], inputs["dilation"], inputs["groups"])

            def call():
                x.grad = w.grad = None
                clock = Stopwatch()
                out = clock.run("forward", torch.nn.functional.conv2d, x, w, None, *conv)
                clock.run("backward", out.backward, g)
                return {"out": out.detach().numpy(), "dx": x.grad.numpy(),
                        "dw": w.grad.numpy()}, clock.seconds
            return call
        return [Implementation("torch", "peer", prepare, label="torch conv2d")]


class Attention(Family):
    """Causal self-attention forward+backward, batch x heads folded into one batch axis."""
    name = "attention"
    ops = ("attention_forward", "attention_backward")
    batch, heads, head_dim = 4, 8, 64
    default_sizes = (256, 512, 1024, 2048, 4096)
    quick_sizes = (16, 40)
    compare_with = ("torch", "reference")
    plot_memory = True
    flop_convention = ("FlashAttention-2's: forward 4 B H N^2 d / 2 (causal), backward 2.5x "
                       "forward, 3.5x forward in all")

    def __init__(self, quick=False):
        super().__init__(quick)
        if quick:
            self.batch, self.heads, self.head_dim = 2, 2, 8

    def problem(self, n):
        b, h, d = self.batch, self.heads, self.head_dim

        def make_inputs(rng, dtype):
            q, k, v, g = (rng.standard_normal((b * h, n, d)).astype(dtype) for _ in range(4))
            return {"q": q, "k": k, "v": v, "g": g, "scale": 1 / math.sqrt(d)}
        flops = 3.5 * 4.0 * b * h * n * n * d / 2
        params = {"batch": b, "heads": h, "N": n, "d": d, "causal": True}
        return Problem(f"N={n}", n, flops, params, make_inputs)

    def run_version(self, fns, inputs):
        q, k, v, g, scale = (inputs[key] for key in ("q", "k", "v", "g", "scale"))
        forward, backward = fns["attention_forward"], fns["attention_backward"]

        def call():
            clock = Stopwatch()
            out, lse = clock.run("forward", forward, q, k, v, None, True, scale)
            dq, dk, dv = clock.run("backward", backward, q, k, v, out, lse, g, None, True, scale)
            return {"out": out, "lse": lse, "dq": dq, "dk": dk, "dv": dv}, clock.seconds
        return call

    def peers(self, torch):
        if torch is None:
            return []
        b, h = self.batch, self.heads

        def prepare(inputs):
            # (B H, N, d) -> (B, H, N, d): torch's CPU flash kernel wants 4-D inputs
            q, k, v, g = (torch.from_numpy(inputs[key]).view(b, h, *inputs[key].shape[1:])
                          for key in ("q", "k", "v", "g"))
            q, k, v = (t.requires_grad_() for t in (q, k, v))
            sdpa = torch.nn.functional.scaled_dot_product_attention

            def call():
                q.grad = k.grad = v.grad = None
                clock = Stopwatch()
                out = clock.run("forward", lambda: sdpa(q, k, v, is_causal=True,
                                                        scale=inputs["scale"]))
                clock.run("backward", out.backward, g)
                flat = {"out": out.detach(), "dq": q.grad, "dk": k.grad, "dv": v.grad}
                return {key: t.reshape(b * h, *t.shape[2:]).numpy()
                        for key, t in flat.items()}, clock.seconds
            return call
        return [Implementation("torch", "peer", prepare, label="torch SDPA")]

    def validation_slice(self, inputs):
        # every (batch, head) pair is independent: the reference checks the first ones
        first = min(2, inputs["q"].shape[0])
        small = {key: (value[:first] if isinstance(value, np.ndarray) else value)
                 for key, value in inputs.items()}
        return small, lambda outputs: {key: value[:first] for key, value in outputs.items()}


FAMILIES = {"matmul": Matmul, "conv2d": Conv2d, "attention": Attention}

