"""PyTorch's argument names accepted next to NumPy's.

scratchgen's ops take NumPy's names (`axis`, `keepdims`); a PyTorch user types `dim` and
`keepdim` without thinking. `torch_names` lets every op accept both spellings, and refuses
a call that gives the same argument twice under its two names:

    @torch_names
    def sum(x, axis=None, keepdims=False): ...

    sum(x, dim=1, keepdim=True)      # the same call as sum(x, axis=1, keepdims=True)
"""
import functools

# torch's spelling -> scratchgen's (NumPy's) spelling
ALIASES = {"dim": "axis", "keepdim": "keepdims"}


def rename(fn_name, kwargs, aliases=ALIASES):
    """kwargs with torch's names rewritten to NumPy's (a new dict; `kwargs` is untouched)."""
    if not any(k in kwargs for k in aliases):
        return kwargs
    out = dict(kwargs)
    for torch_name, numpy_name in aliases.items():
        if torch_name in out:
            if numpy_name in out:
                raise TypeError(f"{fn_name}: got both {torch_name}= and {numpy_name}= (they are "
                                f"the same argument under PyTorch's and NumPy's names); "
                                "give one of them")
            out[numpy_name] = out.pop(torch_name)
    return out


def torch_names(fn):
    """Decorator: accept dim= for axis= and keepdim= for keepdims=."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **rename(fn.__name__, kwargs))

    return wrapper
