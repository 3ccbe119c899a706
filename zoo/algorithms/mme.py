"""MME: semi-supervised domain adaptation by minimax entropy on the unlabeled target.

Saito, Kim, Sclaroff, Darrell & Saenko, "Semi-supervised Domain Adaptation via Minimax Entropy", ICCV 2019
(reference code: github.com/VisionLearningGroup/SSDA_MME). The head is a cosine-similarity classifier
(``zoo.losses.minimax_entropy.CosineClassifier``: L2-normalised features, bias-free class prototypes,
temperature ``T``). One ``source+target_semi`` stage; the target batch is ``(x_l, y_l, x_u)`` (labeled budget,
unlabeled rest):

    loss = CE(C(F([x_s; x_l])), [y_s; y_l])                  # labeled source and labeled target together
         + lambda * mean_i sum_k p_ik log p_ik,  p = softmax(C(GRL(F(x_u))))       # adentropy, Eq. 9

The classifier ``C`` minimises the second term, i.e. maximises the entropy of the unlabeled target
predictions (prototypes move towards the target); the feature extractor ``F`` receives the reversed gradient
and minimises that entropy (target features cluster around the prototypes). Logged: ``ce`` and ``entropy``
(mean entropy of the unlabeled predictions, nats), detached. It needs labeled target images: a task with
``target_budget`` 0 is refused in one line.

Differences from the paper and its code:

- One backward and one optimizer step per iteration. The authors take two: ``CE.backward(); step()`` and then,
  on a fresh forward of ``x_u``, ``adentropy.backward(); step()`` with separate optimizers for ``F`` and ``C``.
  For each term the gradients here are the same as theirs *at the same parameters*: CE's gradient reaches
  ``F`` and ``C`` unchanged; the entropy term's gradient reaches ``C`` as the gradient of
  ``-lambda * H`` and, through the reversal layer (``eta`` = 1 as in their ``adentropy``), reaches ``F`` as
  that of ``+lambda * H`` -- exactly what their second backward gives (tests/algorithms/test_mme.py checks
  both signs against autograd of the plain entropy). What differs: their entropy gradient is taken after
  the CE step has moved the weights, and each iteration makes two SGD-with-momentum updates (weight decay
  applied twice); here the two gradients are summed into one update at the runner's optimizer and lr.
- The labeled batch ``[x_s; x_l]`` and the unlabeled ``x_u`` go through the backbone in two forward passes,
  as in the authors' code, so BatchNorm layers (if any) normalise the unlabeled batch with its own statistics.
- Optimisation is the runner's. The paper: SGD, momentum 0.9 (Nesterov), weight decay 5e-4, lr 0.01 with
  the inverse decay ``lr (1 + 1e-4 step)^-0.75``, the pretrained backbone at 0.1x the lr (``backbone_lr_mult``
  here, default 1 as for the zoo's other adaptation methods from scratch), early stopping on a labeled target
  validation split.
- The head reads the backbone's features directly (the paper's AlexNet/VGG ``Predictor``). For ResNet-34 the
  authors' ``Predictor_deep`` adds a ``Linear(512, 512)`` before the normalisation (on the feature side of
  the reversal layer); there is no such layer here. Their ``weights_init(F1)`` call leaves the head at
  PyTorch's default initialisation, as here.
- ``p log p`` comes from ``log_softmax`` instead of ``log(p + 1e-5)``.

Usage::

    algo = MME(zoo.create_backbone("simple_cnn", in_chans=1), num_classes=3, hparams={"lambda": 0.1})
    MME.stages(algo.hparams, 0.1)                            # [Stage('adapt', 'source+target_semi')]
    out = algo.training_step((x_s, y_s), (x_l, y_l, x_u))    # {"loss", "ce", "entropy"}
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.algorithms.base import Algorithm, Batch, HParam, Stage
from zoo.errors import ConfigError
from zoo.losses.minimax_entropy import CosineClassifier, adentropy


def labeled_batch(source_batch: Batch | None, x_l: torch.Tensor,
                  y_l: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The labeled source and labeled target batches as one: (N_s + N_l, C, H, W), (N_s + N_l,).

    A task without a source (``source_batch`` None) trains on the labeled target alone.
    """
    if source_batch is None:
        return x_l, y_l
    return torch.cat([source_batch[0], x_l]), torch.cat([source_batch[1], y_l])


class MME(Algorithm):
    """Cosine classifier; CE on labeled source + target, adversarial entropy on the unlabeled target."""

    PAPER = "Saito et al., Semi-supervised Domain Adaptation via Minimax Entropy, ICCV 2019"
    SETTINGS = ("semi_supervised", "transfer")
    ALIGNMENT_WEIGHT = "lambda"  # the twin keeps the cosine head and the labeled target, no minimax entropy
    HPARAMS = {
        "lambda": HParam(0.1, ("log", 0.01, 1.0), "weight of the adversarial entropy term on unlabeled target",
                         low=0),
        "temperature": HParam(0.05, ("log", 0.01, 0.5), "temperature T of the cosine classifier (logits / T)",
                              low=0, low_open=True),
        "backbone_lr_mult": HParam(1.0, ("log", 0.01, 1.0), "backbone lr multiplier (the paper: 0.1, pretrained)",
                                   low=0, low_open=True),
    }

    def __init__(self, backbone, num_classes: int, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(backbone, num_classes, hparams)
        # (N, D) -> (N, K): replaces the base class's linear head; predict() = classifier(features(x))
        self.classifier = CosineClassifier(backbone.num_features, num_classes, self.hparams["temperature"])

    @classmethod
    def stages(cls, hparams: dict[str, Any], target_budget: float) -> list[Stage]:
        if target_budget <= 0:
            raise ConfigError("mme needs labeled target images (semi-supervised adaptation): give the task a "
                              "target_budget > 0, or use an unsupervised method such as dann")
        return [Stage("adapt", "source+target_semi")]

    def training_step(self, source_batch: Batch | None, target_batch: Batch | None) -> dict[str, torch.Tensor]:
        x_l, y_l, x_u = target_batch[0], target_batch[1], target_batch[2]  # a strong view, if any, is unused
        x, y = labeled_batch(source_batch, x_l, y_l)  # (N_s + N_l, C, H, W), (N_s + N_l,)
        logits = self.classifier(self.features(x))  # (N_s + N_l, D) -> (N_s + N_l, K)
        ce = self.cross_entropy(logits, y)
        f_u = self.features(x_u)  # (N_u, D): its own forward pass, as the authors' code
        term, entropy = adentropy(self.classifier, f_u, self.hparams["lambda"])  # scalar, scalar (detached)
        return {
            "loss": ce + term,
            "ce": ce.detach(),
            "entropy": entropy,
            "acc": (logits.argmax(1) == y).float().mean().detach(),
        }

    def param_groups(self) -> list[dict[str, Any]]:
        groups = super().param_groups()  # [backbone, head]
        groups[0]["lr_mult"] = self.hparams["backbone_lr_mult"]
        return groups
