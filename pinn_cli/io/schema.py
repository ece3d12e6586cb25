"""Schemas of the `data` group (io.observations.read_observations), of `collocation`
(io.collocation) and of the `logger` group (io.tracking): types only, the values live in
conf/data/*.yaml, conf/logger/*.yaml and conf/config.yaml."""
from dataclasses import dataclass
from typing import Dict, List, Optional

from omegaconf import MISSING


@dataclass
class DataConf:
    _target_: str = "pinn_cli.io.observations.read_observations"
    file: str = MISSING
    layout: str = "grid"  # auto | grid | scattered | pdebench | pdebench_grouped
    coords: Dict[str, str] = MISSING  # input name -> dataset name (default: the input's name)
    # output name -> dataset name, or (pdebench layouts) a channel index such as "0": an int
    # given here or on the command line is stored as its string
    fields: Dict[str, str] = MISSING  # empty: every output from the dataset of its name
    # grid files: the input (or dataset) of each axis of the fields, in order; replaces their
    # `axes` attribute
    axes: Optional[List[str]] = None
    sample: int = 0  # pdebench layouts: the sample (tensor axis 0) or the seed group, by position
    n_obs: Optional[int] = None  # None: every point
    noise: float = 0.0  # Gaussian noise std as a fraction of std(field)
    seed: int = 0


@dataclass
class CollocationConf:
    n_points: int = MISSING  # residual points drawn in the domain
    n_condition_points: int = MISSING  # per initial/boundary condition
    sampler: str = MISSING  # sobol | uniform
    include_observations: bool = MISSING  # also enforce the residual at the data points
    resample_every: int = MISSING  # Adam steps between fresh draws of the residual points; 0: never


@dataclass
class LoggerNoneConf:
    _target_: str = MISSING  # named by the option file (io.tracking.Off)


@dataclass
class MLflowConf:
    _target_: str = MISSING  # named by the option file (io.tracking.MLflow)
    experiment: str = MISSING  # MLflow experiment that holds the runs
    tracking_uri: Optional[str] = None  # None: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db
    artifacts: bool = MISSING  # copy the run folder's files to the MLflow run at the end


@dataclass
class TensorBoardConf:
    _target_: str = MISSING  # named by the option file (io.tracking.TensorBoard)
    folder: str = MISSING  # event files' folder inside the run folder
