"""The training workflow behind `scratchgen train`: configurations, run directories,
checkpoints and exact resume, progress, loss logs and pictures."""
from .config import make_config, resume_config
from .loop import Interrupted, TrainingDiverged, evaluate_run, load_run, train
from .rundir import RunDir

__all__ = ["make_config", "resume_config", "train", "evaluate_run", "load_run", "RunDir",
           "Interrupted", "TrainingDiverged"]
