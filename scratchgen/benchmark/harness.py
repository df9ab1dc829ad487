"""The benchmark loop: validate every implementation, then time them all together.

For each family and each problem size, as llm.c's dev/cuda does it:

    1. first call of every implementation, "reference" first: its output is checked against
       the reference's (relative error, below); a version that fails is INVALID, reported
       with its error and never timed. This call pays the JIT compile (or the load from
       Numba's disk cache), so its time is reported apart as the first-call time.
    2. one more call under a memory probe: the peak resident memory above the level before
       the call (VmHWM after resetting it through /proc/self/clear_refs, with glibc's free
       memory trimmed first), so allocations made by NumPy, inside Numba kernels and by
       torch all count; where /proc cannot do that, tracemalloc's peak (NumPy allocations
       only). Its time also sizes the repeats.
    3. the repeats, round-robin over the implementations (a, b, c, a, b, c, ...) so that
       load from other processes falls on all of them alike; the median is reported.

Relative error of an output y against the reference r: max |y - r| / max |r|, the largest
over the outputs both return (out, and the gradients). Tolerances: 1e-3 in float32 (a
different summation order over K terms moves a float32 result by about sqrt(K) ulp, far
below that), 1e-9 in float64.

Work limits: from the last size an implementation ran, its time and peak memory are scaled
by the ratio of FLOPs to estimate the next size; a (version, size) whose estimate passes
--max-call-s or --max-memory-gib is skipped, with the reason printed. The naive versions
stop early that way, and the full N x N attention reference stops at the size whose
matrices would not fit; the other versions are then checked against the reference run on
a slice that gives the same numbers (the first rows of a product, the first (batch, head)
pairs of attention).
"""
import contextlib
import ctypes
import math
import os
import platform
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field

import numpy as np

from scratchgen.engine.dispatch import REFERENCE

from .problems import FAMILIES, import_torch

TOLERANCE = {"float32": 1e-3, "float64": 1e-9}
MIN_REPEATS = 3
ROW_BUDGET_S = 30.0   # time the repeats of one (implementation, size) may take, at most
FORMAT = "scratchgen-kernel-benchmark"


class UsageError(ValueError):
    """A bad option or setting: the command line reports it in one line."""


@dataclass
class Settings:
    families: tuple = tuple(FAMILIES)
    sizes: dict = field(default_factory=dict)     # family -> sizes; absent: the defaults
    dtype: str = "float32"
    repeats: int = 10
    threads: int = 0                              # 0: every core this process may use
    quick: bool = False
    max_call_s: float = 10.0
    max_memory_gib: float = 4.0
    quiet: bool = False
    seed: int = 0

    def sizes_of(self, family):
        if family.name in self.sizes:
            return tuple(self.sizes[family.name])
        return family.quick_sizes if self.quick else family.default_sizes


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---- threads ------------------------------------------------------------------------------

@contextlib.contextmanager
def thread_limits(threads, torch):
    """Every library that runs threads (BLAS, OpenMP, Numba, torch) on `threads` threads.

    Yields what each one reports once set, for the results."""
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=threads):
        restore = []
        try:
            import numba
        except ImportError:
            numba = None
        if numba is not None:
            if threads > numba.config.NUMBA_NUM_THREADS:
                raise UsageError(f"--threads {threads} is more than Numba's thread pool "
                                 f"({numba.config.NUMBA_NUM_THREADS}; set NUMBA_NUM_THREADS)")
            restore.append((numba.set_num_threads, numba.get_num_threads()))
            numba.set_num_threads(threads)
        if torch is not None:
            restore.append((torch.set_num_threads, torch.get_num_threads()))
            torch.set_num_threads(threads)
        try:
            yield {"requested": threads,
                   "pools": [{k: info.get(k) for k in ("user_api", "internal_api", "version",
                                                       "num_threads", "threading_layer",
                                                       "architecture")}
                             for info in threadpool_info()],
                   "numba": numba.get_num_threads() if numba is not None else None,
                   "torch": torch.get_num_threads() if torch is not None else None}
        finally:
            for setter, value in restore:
                setter(value)


def machine_info(torch):
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    try:
        import numba
        numba_version = numba.__version__
    except ImportError:
        numba_version = None
    return {"cpu": model, "simd": sorted(flags & {"avx2", "fma", "avx512f", "avx512_bf16"}),
            "cores": os.cpu_count(), "usable_cores": usable_cores(),
            "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg")
            else None,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba_version,
            "torch": torch.__version__ if torch is not None else None}


# ---- memory -------------------------------------------------------------------------------

def _can_reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss_kib(field_name):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name):
                return int(line.split()[1])
    raise OSError(f"{field_name} not in /proc/self/status")


def _trim_free_memory():
    """Hand memory that glibc keeps after free back to the system, so that reusing it shows
    in the resident size again (scratchgen's CLI asks glibc to keep freed memory)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class MemoryProbe:
    """peak(call) -> (bytes above the level before the call at its peak, seconds)."""

    def __init__(self):
        self.method = ("peak resident memory (VmHWM) above the level before the call"
                       if _can_reset_peak_rss() else
                       "tracemalloc peak (NumPy allocations only: memory allocated inside "
                       "Numba kernels or by torch is not seen)")
        self.rss = self.method.startswith("peak resident")

    def peak(self, call):
        # no gc.collect(): arrays are freed by reference counting, and a full collection
        # with Numba and torch loaded takes most of a second
        _trim_free_memory()
        if self.rss:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            before = _rss_kib("VmRSS")
            start = time.perf_counter()
            outputs = call()
            seconds = time.perf_counter() - start
            peak = max(0, _rss_kib("VmHWM") - before) * 1024
        else:
            tracemalloc.start()
            start = time.perf_counter()
            outputs = call()
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        del outputs
        return peak, seconds


# ---- validation ---------------------------------------------------------------------------

def relative_errors(outputs, truth):
    """{output name: max |y - r| / max |r|} over the outputs both sides return."""
    errors = {}
    for key in sorted(set(outputs) & set(truth)):
        y, r = np.asarray(outputs[key]), np.asarray(truth[key])
        if y.shape != r.shape:
            errors[key] = math.inf
            continue
        scale = float(np.max(np.abs(r))) if r.size else 0.0
        diff = np.abs(y.astype(np.float64) - r) if y.size else np.zeros(1)
        worst = float(np.max(diff)) if np.all(np.isfinite(y)) else math.inf
        errors[key] = worst / scale if scale > 0 else worst
    if not errors:
        raise ValueError(f"no output to compare: got {sorted(outputs)}, the reference "
                         f"returns {sorted(truth)}")
    return errors


def _shape_mismatch(outputs, truth):
    bad = [f"{key} {np.shape(outputs[key])} != {np.shape(truth[key])}"
           for key in sorted(set(outputs) & set(truth))
           if np.shape(outputs[key]) != np.shape(truth[key])]
    return "; ".join(bad)


# ---- the loop -----------------------------------------------------------------------------

def measure_peak(dtype, settings):
    """This machine's reference speed: NumPy's @ on square matrices, median of repeats."""
    n = 256 if settings.quick else 2048
    rng = np.random.default_rng(settings.seed)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    a @ b
    repeats = max(MIN_REPEATS, settings.repeats)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    return {"gflops": 2.0 * n ** 3 / seconds / 1e9,
            "method": f"NumPy {dtype} @ at N={n}, median of {repeats} calls"}


class Reporter:
    """Progress bar (tqdm, on stderr) and the messages printed above it."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.bar = None

    def start(self, name, total):
        if self.quiet:
            return
        from tqdm import tqdm
        self.close()
        # a bar on a terminal (disable=None); elsewhere `done` prints a line per size
        self.bar = tqdm(total=total, desc=name, unit="call", file=sys.stderr,
                        dynamic_ncols=True, mininterval=0.5, disable=None)
        if self.bar.disable:
            self.bar = None

    def add(self, calls):
        if self.bar is not None:
            self.bar.total += calls
            self.bar.refresh()

    def step(self, text=None):
        if self.bar is not None:
            if text:
                self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)

    def done(self, text):
        if self.bar is None:
            self.say(text)

    def say(self, text):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _limit_reason(last, problem, settings):
    """Why an implementation should skip `problem`, judged from its last measured size."""
    grow = problem.flops / last["flops"]
    seconds, memory = last["seconds"] * grow, last["memory"] * grow
    if seconds > settings.max_call_s:
        return (f"estimated {seconds:.3g} s a call from {last['flops'] / last['seconds'] / 1e9:.3g}"
                f" GFLOP/s at {last['label']}, over --max-call-s {settings.max_call_s:g}")
    if memory > settings.max_memory_gib * 2 ** 30:
        return (f"estimated peak memory {memory / 2 ** 30:.3g} GiB from "
                f"{last['memory'] / 2 ** 20:.4g} MiB at {last['label']}, over "
                f"--max-memory-gib {settings.max_memory_gib:g}")
    return None


def _error_text(exc):
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def run_problem(family, problem, impls, settings, history, probe, reporter):
    """All implementations on one problem: validate, probe memory, time round-robin."""
    dtype = np.dtype(settings.dtype)
    tolerance = TOLERANCE[settings.dtype]
    inputs = problem.make_inputs(np.random.default_rng(settings.seed + int(problem.x)), dtype)
    rows, active = {}, []
    truth, take, no_truth = None, (lambda outputs: outputs), ""
    for impl in impls:
        row = {"family": family.name, "size": problem.label, "x": problem.x,
               "params": problem.params, "implementation": impl.name, "kind": impl.kind,
               "label": impl.label or impl.name, "kernels": impl.kernels, "dtype": settings.dtype,
               "flops": problem.flops, "status": "ok", "note": impl.note}
        rows[impl.name] = row
        last = history.get(impl.name)
        reason = _limit_reason(last, problem, settings) if last is not None else None
        if reason:
            row.update(status="skipped", note=_join(impl.note, reason))
            reporter.say(f"{family.name} {problem.label} {impl.name}: skipped ({reason})")
            reporter.step()
            continue
        if truth is None and impl.name != REFERENCE and not no_truth:
            truth, take, no_truth = _truth_from_slice(family, impls, inputs, rows)
        if truth is None and impl.name != REFERENCE:
            row.update(status="skipped", note=_join(impl.note, no_truth))
            reporter.step()
            continue
        try:
            call = impl.prepare(inputs)
            start = time.perf_counter()
            outputs, _ = call()
            row["first_call_ms"] = 1e3 * (time.perf_counter() - start)
        except Exception as exc:  # a kernel that raises is reported, and the run goes on
            row.update(status="error", note=_join(impl.note, _error_text(exc)))
            reporter.say(f"{family.name} {problem.label} {impl.name}: ERROR {_error_text(exc)}")
            reporter.step()
            continue
        if impl.name == REFERENCE:
            truth, row["max_rel_error"] = outputs, 0.0
        else:
            errors = relative_errors(take(outputs), truth)
            row["max_rel_error"], row["rel_errors"] = max(errors.values()), errors
            if row["max_rel_error"] > tolerance:
                mismatch = _shape_mismatch(take(outputs), truth)
                row.update(status="invalid", tolerance=tolerance,
                           note=_join(impl.note, mismatch or
                                      f"relative error {row['max_rel_error']:.3g} > {tolerance:g}"))
                reporter.say(f"{family.name} {problem.label} {impl.name}: INVALID "
                             f"({row['note']}); not timed")
                reporter.step()
                continue
        del outputs
        memory, seconds = probe.peak(call)
        row["peak_memory_mib"] = memory / 2 ** 20
        repeats = min(settings.repeats, max(MIN_REPEATS, int(ROW_BUDGET_S / max(seconds, 1e-9))))
        row["repeats"] = repeats
        active.append((impl, call, row, seconds))
        reporter.add(repeats)
        reporter.step()
    _time_round_robin(active, reporter, f"{problem.label}")
    reporter.done(f"{family.name} {problem.label}: " + ", ".join(
        f"{row['implementation']} {row['gflops']:.3g} GFLOP/s" for _, _, row, _ in active))
    for impl, _, row, _ in active:
        history[impl.name] = {"implementation": impl.name, "flops": problem.flops,
                              "seconds": row["median_ms"] / 1e3,
                              "memory": row["peak_memory_mib"] * 2 ** 20, "label": problem.label}
    _ratios(family, rows)
    return list(rows.values())


def _truth_from_slice(family, impls, inputs, rows):
    """The reference's outputs on a slice of the inputs, when it did not run whole."""
    reference = next((impl for impl in impls if impl.name == REFERENCE), None)
    sliced = family.validation_slice(inputs)
    if reference is None or sliced is None:
        return None, None, "not validated: the reference did not run at this size"
    small, take = sliced
    try:
        truth, _ = reference.prepare(small)()
    except Exception as exc:
        return None, None, f"not validated: the reference failed ({_error_text(exc)})"
    rows[REFERENCE]["note"] = _join(rows[REFERENCE]["note"],
                                    "others validated against it on a slice")
    return truth, take, ""


def _time_round_robin(active, reporter, text):
    times = {impl.name: [] for impl, *_ in active}
    per_op = {impl.name: {} for impl, *_ in active}
    rounds = max((row["repeats"] for _, _, row, _ in active), default=0)
    for r in range(rounds):
        for impl, call, row, _ in active:
            if r >= row["repeats"]:
                continue
            start = time.perf_counter()
            outputs, seconds = call()
            times[impl.name].append(time.perf_counter() - start)
            del outputs
            for op, s in seconds.items():
                per_op[impl.name].setdefault(op, []).append(s)
            reporter.step(f"{text} {impl.name}")
    for impl, _, row, _ in active:
        median = float(np.median(times[impl.name]))
        row.update(median_ms=1e3 * median, min_ms=1e3 * float(np.min(times[impl.name])),
                   gflops=row["flops"] / median / 1e9,
                   per_op_ms={op: 1e3 * float(np.median(s)) for op, s in per_op[impl.name].items()})


def _ratios(family, rows):
    """Speed against each implementation in family.compare_with: their time over ours."""
    for row in rows.values():
        if row["status"] != "ok":
            continue
        row["speedup"] = {name: rows[name]["median_ms"] / row["median_ms"]
                          for name in family.compare_with
                          if name in rows and name != row["implementation"]
                          and rows[name]["status"] == "ok"}


def _join(*notes):
    return "; ".join(n for n in notes if n)


def run_family(family, settings, peak, probe, torch, reporter):
    """Every problem of one family; returns its section of the results."""
    section = {"name": family.name, "ops": list(family.ops), "size_name": family.size_name,
               "flop_convention": family.flop_convention,
               "compare_with": list(family.compare_with), "notes": [], "rows": []}
    missing = family.missing_ops()
    if missing:
        section["notes"].append(f"skipped: op(s) {', '.join(missing)} not registered")
        reporter.say(f"{family.name}: {section['notes'][-1]}")
        return section
    impls = family.versions() + family.peers(torch)
    if torch is None and family.name != "matmul":
        section["notes"].append("torch is not importable: no torch column")
    problems = family.problems(settings.sizes_of(family))
    reporter.start(family.name, len(problems) * len(impls))
    history = {}
    try:
        for problem in problems:
            rows = run_problem(family, problem, impls, settings, history, probe, reporter)
            for row in rows:
                if row["status"] == "ok":
                    row["fraction_of_peak"] = row["gflops"] / peak["gflops"]
            section["rows"] += rows
    finally:
        reporter.close()
    return section


def run(settings, command=""):
    """The whole benchmark: {settings, machine, threads, peak, families: [...]}."""
    if settings.dtype not in TOLERANCE:
        raise UsageError(f"dtype must be one of {', '.join(TOLERANCE)}, got {settings.dtype!r}")
    import scratchgen.kernels  # noqa: F401  (registers every kernel)
    torch = import_torch()
    threads = settings.threads or usable_cores()
    reporter = Reporter(settings.quiet)
    started = time.time()
    results = {"format": FORMAT, "version": 1, "command": command,
               "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
               "settings": asdict(settings), "machine": machine_info(torch)}
    probe = MemoryProbe()
    results["notes"] = []
    if torch is None:
        results["notes"].append("torch is not importable: the torch peer columns are skipped")
    load = results["machine"]["load_average"]
    if load and threads > 1 and load[0] > 0.5 * usable_cores():
        results["notes"].append(
            f"the machine was busy at the start (load average {load[0]:g} on "
            f"{usable_cores()} cores): with {threads} threads a call waits for a busy core, "
            f"and small calls suffer most; --threads 1 measures more steadily")
    with thread_limits(threads, torch) as thread_record:
        results["threads"] = thread_record
        peak = measure_peak(settings.dtype, settings)
        peak["method"] += f", {threads} thread(s)"
        results["peak"] = peak
        reporter.say(f"peak: {peak['gflops']:.1f} GFLOP/s ({peak['method']})")
        for note in results["notes"]:
            reporter.say(f"note: {note}")
        results["memory_method"] = probe.method
        results["families"] = [
            run_family(FAMILIES[name](settings.quick), settings, peak, probe, torch, reporter)
            for name in settings.families]
        try:
            import numba
            results["threads"]["numba_threading_layer"] = numba.threading_layer()
        except (ImportError, ValueError):  # ValueError: no parallel kernel ran
            pass
    results["duration_s"] = time.time() - started
    return results
