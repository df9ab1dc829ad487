"""CUDA C kernels (a later issue): each .cu file with its Python launcher, one per op."""
