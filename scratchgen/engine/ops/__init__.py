"""Primitive differentiable ops. Each file is a table of forward math and its chain rule."""
