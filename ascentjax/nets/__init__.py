"""Networks: flax classifiers trained as ensembles, KLoM, forget sets, datamodels, unlearning.

The network side of the paper (Sec. 3, App. K): ensembles of small classifiers
(:class:`MLP`, :class:`SmallCNN`) trained at once, their margins, the KLoM metric and the
tune-on-half/report-on-other-half selection, forget sets (random ones come from
:func:`ascentjax.sample_forget_mask`; non-random ones from datamodels) and the unlearning
methods as :class:`ascentjax.UnlearningRule` factories run by :func:`unlearn_ensemble`.
"""

from ._cache import cached as cached
from ._cache import content_hash as content_hash
from ._data import ClassificationData as ClassificationData
from ._data import load_cifar10 as load_cifar10
from ._data import load_digits as load_digits
from ._datamodels import datamodel_subsets as datamodel_subsets
from ._datamodels import estimate_datamodels as estimate_datamodels
from ._datamodels import fit_datamodels as fit_datamodels
from ._ensembles import classifier_margins as classifier_margins
from ._ensembles import ensemble_accuracy as ensemble_accuracy
from ._ensembles import ensemble_logits as ensemble_logits
from ._ensembles import ensemble_margins as ensemble_margins
from ._ensembles import init_ensemble as init_ensemble
from ._ensembles import retrain_oracle as retrain_oracle
from ._ensembles import train_ensemble as train_ensemble
from ._forget_sets import pca_forget_sets as pca_forget_sets
from ._forget_sets import retain_indices as retain_indices
from ._klom import Selection as Selection
from ._klom import binned_kl as binned_kl
from ._klom import klom as klom
from ._klom import klom_percentile as klom_percentile
from ._klom import select_and_rescore as select_and_rescore
from ._klom import split_half_klom as split_half_klom
from ._methods import EpochData as EpochData
from ._methods import fine_tune as fine_tune
from ._methods import gradient_ascent as gradient_ascent
from ._methods import gradient_descent_ascent as gradient_descent_ascent
from ._methods import l1_sparse as l1_sparse
from ._methods import noisy_descent as noisy_descent
from ._methods import npo as npo
from ._methods import saliency_mask as saliency_mask
from ._methods import salun as salun
from ._methods import scrub as scrub
from ._methods import unlearn_ensemble as unlearn_ensemble
from ._mia import AttackResult as AttackResult
from ._mia import MIAResult as MIAResult
from ._mia import likelihood_ratio_attack as likelihood_ratio_attack
from ._mia import likelihood_ratio_scores as likelihood_ratio_scores
from ._mia import loss_threshold_attack as loss_threshold_attack
from ._mia import roc_auc as roc_auc
from ._mia import tpr_at_fpr as tpr_at_fpr
from ._mia import unlearning_mia as unlearning_mia
from ._models import MLP as MLP
from ._models import SmallCNN as SmallCNN

__all__ = [
    "AttackResult",
    "ClassificationData",
    "EpochData",
    "MIAResult",
    "MLP",
    "Selection",
    "SmallCNN",
    "binned_kl",
    "cached",
    "classifier_margins",
    "content_hash",
    "datamodel_subsets",
    "ensemble_accuracy",
    "ensemble_logits",
    "ensemble_margins",
    "estimate_datamodels",
    "fine_tune",
    "fit_datamodels",
    "gradient_ascent",
    "gradient_descent_ascent",
    "init_ensemble",
    "klom",
    "klom_percentile",
    "l1_sparse",
    "likelihood_ratio_attack",
    "likelihood_ratio_scores",
    "load_cifar10",
    "load_digits",
    "loss_threshold_attack",
    "noisy_descent",
    "npo",
    "pca_forget_sets",
    "retain_indices",
    "retrain_oracle",
    "roc_auc",
    "saliency_mask",
    "salun",
    "scrub",
    "select_and_rescore",
    "split_half_klom",
    "tpr_at_fpr",
    "train_ensemble",
    "unlearn_ensemble",
    "unlearning_mia",
]
