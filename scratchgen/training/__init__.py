"""The training workflow behind `scratchgen train`: run directories, checkpoints and exact
resume, progress, loss logs and pictures."""
from .loop import Interrupted, TrainingDiverged, evaluate_run, load_run, make_config, resume_config, train
from .rundir import RunDir
