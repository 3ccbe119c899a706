"""Full fine-tuning: every weight of the given network trains on the labeled target budget.

The reference strategy of transfer studies (Yosinski et al., "How transferable are features in deep
neural networks?", NeurIPS 2014; Kornblith, Shlens & Le, "Do Better ImageNet Models Transfer Better?",
CVPR 2019). Unlike ``source_then_target`` (formerly ``finetune``), there is no source stage: the knowledge
comes from the network it starts from (pretrained weights, the task's ``pretrain`` steps or ``init``).

Usage::

    algo = FullFinetune(zoo.create_backbone("resnet18_28", in_chans=1), num_classes=2)
    [s.name for s in FullFinetune.stages(algo.hparams, 0.1)]    # ['finetune']
"""

from __future__ import annotations

from zoo.algorithms.strategy import FinetuneStrategy


class FullFinetune(FinetuneStrategy):
    """All layers, one stage, the base learning rate."""

    PAPER = "Kornblith, Shlens & Le, Do Better ImageNet Models Transfer Better?, CVPR 2019"
