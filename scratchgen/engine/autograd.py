"""Reverse-mode differentiation: walk the graph from the outputs back to the leaves.

The walk visits each Function once, after every Function that consumed its output, so
the gradient reaching it is complete before it is passed on. That order is a
topological sort of the graph, computed here with an explicit stack instead of
recursion, so a graph thousands of ops deep (a long RNN, a 1000-step sampler) does not
hit Python's recursion limit.
"""
from ..errors import GraphError, ShapeError
from .function import set_grad_enabled


def topological_order(roots):
    """Functions reachable from the root tensors, each listed before the ones feeding it."""
    order, visited = [], set()
    stack = [(t.creator, False) for t in roots if t.creator is not None]
    while stack:
        fn, inputs_done = stack.pop()
        if inputs_done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        fn.check_not_freed()
        visited.add(id(fn))
        stack.append((fn, True))  # emitted after all of its inputs' creators (post-order)
        for t in fn.inputs:
            if t.requires_grad and t.creator is not None and id(t.creator) not in visited:
                stack.append((t.creator, False))
    order.reverse()  # post-order reversed: consumers before producers
    return order


def unbroadcast(grad, shape, fn_name):
    """Reduce a gradient of a broadcast result back to the input's shape.

    Broadcasting copies an input along new or size-1 axes; the adjoint of a copy is a
    sum, so the gradient is summed over exactly those axes. This is the only place in
    the engine where that happens.
    """
    if grad.shape == tuple(shape):
        return grad
    from .ops.reduce import sum_to

    try:
        reduced = sum_to(grad, shape)
    except ShapeError:
        reduced = None
    if reduced is None or reduced.shape != tuple(shape):
        raise ShapeError(f"{fn_name}.backward produced a gradient of shape {grad.shape} for an "
                         f"input of shape {tuple(shape)}; they do not broadcast")
    return reduced


def run_backward(roots, root_grads, retain_graph, create_graph, capture=None):
    """Propagate `root_grads` from `roots` to every leaf.

    Without `capture`, gradients accumulate into the `.grad` of leaves that require
    them. With `capture` (a list of tensors, for `scratchgen.grad`), the gradients of
    exactly those tensors are returned instead and no `.grad` is touched.
    """
    from .tensor import Tensor

    captured = {id(t): None for t in capture} if capture is not None else None
    # Gradient flowing into each Function's output, keyed by the Function (one output each).
    pending = {}

    def deliver(tensor, g):
        dtype = tensor.data.dtype
        if g.data.dtype is not dtype and g.data.dtype != dtype:
            g = g.astype(dtype)  # a gradient has its tensor's dtype (torch's rule)
        if captured is not None and id(tensor) in captured:
            old = captured[id(tensor)]
            captured[id(tensor)] = g if old is None else old + g
        if tensor.creator is not None:
            key = id(tensor.creator)
            pending[key] = g if key not in pending else pending[key] + g
        elif captured is None:
            if not create_graph:
                # a fresh array: .grad must never alias another tensor's gradient or data
                g = Tensor(g.data.copy())
            tensor.grad = g if tensor.grad is None else tensor.grad + g

    with set_grad_enabled(create_graph):
        for root, g in zip(roots, root_grads):
            deliver(root, g)
        order = topological_order(roots)
        for fn in order:
            grad = pending.pop(id(fn), None)
            if grad is None:
                continue  # nothing downstream needed this branch
            fn.check_versions()
            input_grads = fn.backward(grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for tensor, g in zip(fn.inputs, input_grads):
                if g is not None and tensor.requires_grad:
                    deliver(tensor, unbroadcast(g, tensor.shape, fn.name))
    if not retain_graph:
        # Only after the walk: a Function's output tensor is kept alive by its consumers'
        # saved inputs, and its own backward may still need it.
        for fn in order:
            fn.release()
    if captured is not None:
        return [captured[id(t)] for t in capture]
    return None


def _root_grads(outputs, grad_outputs):
    from .tensor import Tensor, as_array_like

    grads = []
    for out, g in zip(outputs, grad_outputs):
        if g is None:
            if out.size != 1:
                raise GraphError(
                    f"grad can be implicitly created only for a one-element output, but the "
                    f"output has shape {out.shape}; pass a gradient of that shape "
                    f"(for a loss, reduce it with .sum() or .mean() first)")
            g = Tensor(out.xp.ones_like(out.data))
        else:
            g = g if isinstance(g, Tensor) else Tensor(as_array_like(g, out.data))
            if g.dtype != out.dtype:  # as PyTorch: the gradient takes the output's dtype
                g = Tensor(g.data.astype(out.dtype))
            if g.shape != out.shape:
                raise ShapeError(f"backward: the gradient has shape {g.shape} but the output "
                                 f"has shape {out.shape}; they must be equal")
        grads.append(g)
    return grads


def _check_roots(outputs):
    for out in outputs:
        if not out.requires_grad:
            raise GraphError("element of the outputs does not require grad and has no graph: "
                             "none of its inputs had requires_grad=True (or it was computed "
                             "under no_grad())")


def backward(output, grad=None, retain_graph=False, create_graph=False):
    """Accumulate d(output)/d(leaf) into every leaf's .grad (Tensor.backward)."""
    _check_roots([output])
    run_backward([output], _root_grads([output], [grad]), retain_graph or create_graph,
                 create_graph)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple of Tensors.

    Like torch.autograd.grad: nothing is accumulated into .grad. With create_graph=True the
    returned gradients are part of a graph and can be differentiated again.
    """
    from .tensor import Tensor

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs]  # one Tensor or array for a single output
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for t in inputs:
        if not t.requires_grad:
            raise GraphError(f"grad: an input of shape {t.shape} does not require grad; "
                             "create it with requires_grad=True")
    _check_roots(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    results = run_backward(outputs, _root_grads(outputs, grad_outputs), retain_graph,
                           create_graph, capture=inputs)
    for i, g in enumerate(results):
        if g is None and not allow_unused:
            raise GraphError(f"grad: input {i} (shape {inputs[i].shape}) was not used to "
                             "compute the outputs; pass allow_unused=True to get None for it")
    return tuple(results)
