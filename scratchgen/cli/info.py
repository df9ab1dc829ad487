"""`scratchgen datasets` and `scratchgen models`: what there is to train on and with."""
from .main import Parser


def datasets_command(argv):
    from ..data import list_datasets

    Parser(prog="scratchgen datasets", description="the built-in datasets").parse_args(argv)
    for row in list_datasets():
        print(f"{row.name:<14} {row.kind:<6} {str(row.shape):<12} {row.source}")
    return 0


def models_command(argv):
    from ..models import MODELS, get_model_class

    Parser(prog="scratchgen models", description="the model families").parse_args(argv)
    classes = {name: get_model_class(name) for name in sorted(MODELS)}
    width = max(len(cls.default_dataset) for cls in classes.values())
    for name, cls in classes.items():
        print(f"{name:<10} default dataset {cls.default_dataset:<{width}}  {cls.description}")
    return 0
