"""Stress-test any unlearning method on the constructions where ascent fails.

A *method* is a factory ``method(problem, learning_rate, **hyper) -> UnlearningRule``;
``problem`` is a :class:`StressProblem`, the model-agnostic view of one unlearning task.
The suite runs a method, beside nine baselines, through the cross-correlated block, the
one-coordinate setting, the nonconvex toy model and random forget sets, and scores it
against each setting's oracle (:func:`run_suite`, :func:`scorecard`).
"""

from ._baselines import BASELINES as BASELINES
from ._baselines import finetune as finetune
from ._baselines import gradient_ascent as gradient_ascent
from ._baselines import iterative_da as iterative_da
from ._baselines import newton as newton
from ._baselines import noisy_gd as noisy_gd
from ._baselines import npo as npo
from ._baselines import retrain as retrain
from ._baselines import scrub as scrub
from ._baselines import simultaneous_da as simultaneous_da
from ._problem import StressProblem as StressProblem
from ._problem import linear_problem as linear_problem
from ._problem import toy_problem as toy_problem
from ._settings import Setting as Setting
from ._settings import block_setting as block_setting
from ._settings import one_coordinate_setting as one_coordinate_setting
from ._settings import random_forget_setting as random_forget_setting
from ._settings import toy_setting as toy_setting
from ._suite import SUITES as SUITES
from ._suite import Suite as Suite
from ._suite import SuiteResult as SuiteResult
from ._suite import evaluate as evaluate
from ._suite import run_suite as run_suite
from ._suite import scorecard as scorecard
from ._suite import scorecard_rows as scorecard_rows
from ._suite import step_unit as step_unit

__all__ = [
    "BASELINES",
    "SUITES",
    "Setting",
    "StressProblem",
    "Suite",
    "SuiteResult",
    "block_setting",
    "evaluate",
    "finetune",
    "gradient_ascent",
    "iterative_da",
    "linear_problem",
    "newton",
    "noisy_gd",
    "npo",
    "one_coordinate_setting",
    "random_forget_setting",
    "retrain",
    "run_suite",
    "scorecard",
    "scorecard_rows",
    "scrub",
    "simultaneous_da",
    "step_unit",
    "toy_problem",
    "toy_setting",
]
