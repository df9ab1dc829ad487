"""The benchmark's files: results.json (everything), results.md (one table per family) and
one PNG per family (GFLOP/s against size, one line per implementation and peer; attention
adds its peak memory against N). Every file is written atomically."""
import io
import json
import math
import os

from ..serialization import atomic_write

OP_ABBREVIATIONS = {"forward": "fwd", "backward": "bwd", "backward_input": "bwd-in",
                    "backward_weight": "bwd-w"}


def write(results, out_dir):
    """Write every file into out_dir; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = [os.path.join(out_dir, "results.json"), os.path.join(out_dir, "results.md")]
    atomic_write(paths[0], json.dumps(_finite(results), indent=1, allow_nan=False,
                                      default=_jsonable) + "\n")
    atomic_write(paths[1], markdown(results))
    for section in results["families"]:
        if any(row["status"] == "ok" for row in section["rows"]):
            paths.append(os.path.join(out_dir, f"{section['name']}.png"))
            atomic_write(paths[-1], plot(section, results))
    return paths


def _finite(value):
    """JSON has no inf or NaN: an error that is not a number (NaN output, wrong shape) is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _jsonable(value):
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):   # NumPy scalars
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


# ---- Markdown -----------------------------------------------------------------------------

def _number(value, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def header(results):
    machine, threads = results["machine"], results["threads"]
    blas = ", ".join(f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)"
                     for p in threads["pools"] if p["user_api"] == "blas")
    lines = [
        f"Command: `{results['command']}`" if results["command"] else "",
        f"Machine: {machine['cpu']}, {machine['usable_cores']} usable of {machine['cores']} "
        f"cores ({', '.join(machine['simd'])}); load average at start "
        f"{machine['load_average']}; NumPy {machine['numpy']}, Numba {machine['numba']}, "
        f"torch {machine['torch'] or 'not installed'}; BLAS: {blas or 'not found'}.",
        f"Threads: {threads['requested']} for every side (numba {threads['numba']}, "
        f"torch {threads['torch']}).  dtype {results['settings']['dtype']}; started "
        f"{results['started']}, took {results['duration_s']:.0f} s.",
        f"Peak: {results['peak']['gflops']:.1f} GFLOP/s, {results['peak']['method']}; "
        f"\"% peak\" is GFLOP/s over it.",
        f"Time: median of the repeats after a first call (its time, JIT compile or cache load "
        f"included, is \"first ms\"), all implementations interleaved round-robin. "
        f"\"vs X\": X's time over this one's (above 1 is faster than X), measured in the "
        f"same run. Memory: {results['memory_method']}.",
    ]
    return "\n".join(line for line in lines if line)


def family_table(section):
    ops_column = len(section["ops"]) > 1
    columns = [section["size_name"] if section["size_name"] != "batch" else "shape",
               "implementation", "GFLOP/s", "% peak"]
    columns += [f"vs {name}" for name in section["compare_with"]]
    columns += ["ms"] + (["ms by op"] if ops_column else []) + ["first ms", "peak MiB",
                                                                "status"]
    lines = [f"## {section['name']}", "", f"FLOPs: {section['flop_convention']}.", ""]
    lines += [f"- {note}" for note in section["notes"]]
    if section["notes"]:
        lines.append("")
    if not section["rows"]:
        return "\n".join(lines) + "\n"
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    footnotes = []
    for row in section["rows"]:
        ok = row["status"] == "ok"
        name = row["implementation"] + (" (peer)" if row["kind"] == "peer" else "")
        cells = [row["size"], name, _number(row.get("gflops")),
                 _number(100 * row["fraction_of_peak"]) if ok else ""]
        cells += [_number(row.get("speedup", {}).get(other), 2) + ("x" if other in
                                                                   row.get("speedup", {}) else "")
                  for other in section["compare_with"]]
        cells.append(_number(row.get("median_ms")))
        if ops_column:
            cells.append(" / ".join(f"{OP_ABBREVIATIONS.get(op, op)} {_number(ms)}"
                                    for op, ms in row.get("per_op_ms", {}).items()))
        cells += [_number(row.get("first_call_ms")), _number(row.get("peak_memory_mib")),
                  row["status"].upper() if row["status"] == "invalid" else row["status"]]
        lines.append("| " + " | ".join(cells) + " |")
        if row["note"]:
            footnotes.append(f"- {row['size']}, {row['implementation']}: {row['note']}")
    if footnotes:
        lines += ["", *footnotes]
    return "\n".join(lines) + "\n"


def markdown(results):
    parts = ["# Kernel benchmark", "", header(results), ""]
    parts += [f"- {note}" for note in results.get("notes", [])]
    for section in results["families"]:
        parts += ["", family_table(section)]
    return "\n".join(parts).rstrip() + "\n"


# ---- plots --------------------------------------------------------------------------------

def plot(section, results):
    """PNG bytes: GFLOP/s against size, one line per implementation (peers dashed)."""
    from matplotlib.figure import Figure  # no pyplot: no screen, no global state

    panels = 2 if section["name"] == "attention" else 1
    figure = Figure(figsize=(6.5 * panels, 4.5))
    axes = figure.subplots(1, panels, squeeze=False)[0]
    lines = {}
    for row in section["rows"]:
        if row["status"] == "ok":
            lines.setdefault((row["implementation"], row["kind"]), []).append(row)
    categorical = section["size_name"] == "batch"
    labels = sorted({(row["x"], row["size"]) for row in section["rows"]})
    for (name, kind), rows in sorted(lines.items(), key=lambda item: item[0][1] == "peer"):
        style = dict(marker="o", linestyle="--" if kind == "peer" else "-",
                     label=name + (" (peer)" if kind == "peer" else ""))
        xs = [row["x"] for row in rows]
        axes[0].plot(xs, [row["gflops"] for row in rows], **style)
        if panels == 2:
            axes[1].plot(xs, [max(row["peak_memory_mib"], 1e-3) for row in rows], **style)
    peak = results["peak"]["gflops"]
    axes[0].axhline(peak, color="grey", linestyle=":", label=f"peak {peak:.0f} GFLOP/s")
    axes[0].set_ylabel("GFLOP/s")
    axes[0].set_title(f"{section['name']} ({results['settings']['dtype']}, "
                      f"{results['threads']['requested']} threads)")
    for ax in axes:
        if categorical:
            ax.set_xticks([x for x, _ in labels])
            ax.set_xticklabels([label for _, label in labels], rotation=20, ha="right",
                               fontsize=7)
        else:
            ax.set_xscale("log", base=2)
            ax.set_xticks([x for x, _ in labels])
            ax.set_xticklabels([f"{x:g}" for x, _ in labels])
            ax.minorticks_off()
            ax.set_xlabel(section["size_name"])
        ax.grid(alpha=0.3)
    if panels == 2:
        axes[1].set_yscale("log")
        axes[1].set_ylabel("peak extra memory (MiB)")
        axes[1].set_title("peak memory of one forward+backward")
    axes[0].legend(fontsize=7)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()
