"""The generative model families. Each lives in its own file and is imported only when used."""
import importlib

# name -> (module, class)
MODELS = {
    "gan": ("scratchgen.models.gan", "GAN"),
    "diffusion": ("scratchgen.models.diffusion", "Diffusion"),
    "vae": ("scratchgen.models.vae", "VAE"),
    "rbm": ("scratchgen.models.rbm", "RBM"),
    "gpt": ("scratchgen.models.gpt", "GPT"),
}


def get_model_class(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    module, cls = MODELS[name]
    return getattr(importlib.import_module(module), cls)
