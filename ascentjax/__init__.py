"""ascentjax: the theory of "Ascent Fails to Forget" (arXiv 2509.26427), executable in JAX.

The core lives here: the problem types (:class:`OneCoordinate`, :class:`Block`), the
Lambert W function, losses, data sets and generators, objectives, unlearning rules,
trajectories and sweeps. The paper's theory is the subpackage :mod:`ascentjax.theory`,
the nonconvex toy model :mod:`ascentjax.toy` and the neural-network side (ensembles,
KLoM, unlearning methods) :mod:`ascentjax.nets`.
Each concept has its own private module, which declares its public names in its own
``__all__``; they are re-exported here explicitly.
"""

from . import nets as nets
from . import stress as stress
from . import theory as theory
from . import toy as toy
from ._data import Dataset as Dataset
from ._data import block_orthogonal_data as block_orthogonal_data
from ._data import cross_correlated_data as cross_correlated_data
from ._data import one_coordinate_data as one_coordinate_data
from ._data import sample_forget_mask as sample_forget_mask
from ._forget import accuracy as accuracy
from ._forget import breast_cancer_data as breast_cancer_data
from ._forget import gaussian_mixture_data as gaussian_mixture_data
from ._forget import resample_split as resample_split
from ._forget import train_oracle as train_oracle
from ._lambertw import lambertw as lambertw
from ._losses import LOSSES as LOSSES
from ._losses import exp_loss as exp_loss
from ._losses import get_loss as get_loss
from ._losses import logistic_loss as logistic_loss
from ._objectives import da_objective as da_objective
from ._objectives import forget_loss as forget_loss
from ._objectives import margins as margins
from ._objectives import pretrain_objective as pretrain_objective
from ._objectives import retain_loss as retain_loss
from ._objectives import retain_objective as retain_objective
from ._problems import Block as Block
from ._problems import OneCoordinate as OneCoordinate
from ._rules import UnlearningRule as UnlearningRule
from ._rules import descent_rule as descent_rule
from ._rules import gradient_ascent as gradient_ascent
from ._rules import iterative_da as iterative_da
from ._rules import pretrain as pretrain
from ._rules import retrain as retrain
from ._rules import simultaneous_da as simultaneous_da
from ._sweep import auto_chunk_size as auto_chunk_size
from ._sweep import make_sweep as make_sweep
from ._sweep import sweep as sweep
from ._trajectory import Trajectory as Trajectory
from ._trajectory import run_rule as run_rule

__version__ = "0.1.0"

__all__ = sorted(
    {
        "Block",
        "Dataset",
        "LOSSES",
        "OneCoordinate",
        "Trajectory",
        "UnlearningRule",
        "accuracy",
        "auto_chunk_size",
        "breast_cancer_data",
        "block_orthogonal_data",
        "cross_correlated_data",
        "da_objective",
        "descent_rule",
        "exp_loss",
        "forget_loss",
        "gaussian_mixture_data",
        "get_loss",
        "gradient_ascent",
        "iterative_da",
        "lambertw",
        "logistic_loss",
        "make_sweep",
        "margins",
        "one_coordinate_data",
        "pretrain",
        "pretrain_objective",
        "resample_split",
        "retain_loss",
        "retain_objective",
        "retrain",
        "run_rule",
        "sample_forget_mask",
        "simultaneous_da",
        "sweep",
        "train_oracle",
    }
)
