"""Task settings, declared once: what data a task gives its algorithms, and which rules follow from it.

A suite's task states its ``setting`` (default ``transfer``); an algorithm declares the settings it can
run in (``Algorithm.SETTINGS``). Four settings, after the situations medical imaging meets:

- ``transfer``: labeled source domain(s) and the target's images (unlabeled, plus a labeled budget if the
  task has one); what every medzoo task was before settings existed.
- ``source_free``: the source cannot leave its hospital. The task starts from a source model (its
  ``pretrain`` steps, whose last step keeps its head, or the suite's ``init`` checkpoint) and reads only
  unlabeled target images; no source image reaches the run (SHOT, Liang et al. 2020; TENT, Wang et al. 2021).
- ``semi_supervised``: labeled source, a target label budget and the unlabeled rest of the target used
  together (MME, Saito et al. 2019; FixMatch-style consistency, Sohn et al. 2020).
- ``generalization``: several labeled source sites; the target site is never read in training, not even
  unlabeled, and model selection reads held-out source data only (DomainBed's training-domain validation,
  Gulrajani & Lopez-Paz 2021; all target validation labels are recorded apart, as the oracle).

Results are grouped by setting, and methods are ranked only against methods of the same setting.

Usage::

    refusal = task_refusal("source_free", sources=("xray",), budget=0.0, pretrain=(), has_init=False)
    TASK_SETTINGS["generalization"].reads_target_in_training      # False
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SETTING = "transfer"


@dataclass(frozen=True)
class TaskSetting:
    """One setting: a summary, and what its runs may read in training (the runner enforces both flags)."""

    name: str
    summary: str
    reads_source: bool = True  # a run's stages and its TaskData see source images
    reads_target_in_training: bool = True  # training streams, BatchNorm passes and hooks see target images


TASK_SETTINGS: dict[str, TaskSetting] = {s.name: s for s in [
    TaskSetting("transfer", "labeled source, target images (and a target label budget if any)"),
    TaskSetting("source_free", "a source model and unlabeled target images; no source image", reads_source=False),
    TaskSetting("semi_supervised", "labeled source, a target label budget and the unlabeled rest of the target"),
    TaskSetting("generalization", "several labeled sources; the target is never read in training",
                reads_target_in_training=False),
]}


def setting_names() -> list[str]:
    return list(TASK_SETTINGS)


def task_refusal(setting: str, sources: tuple[str, ...], budget: float, pretrain: tuple, has_init: bool) -> str | None:
    """Why a task of ``setting`` with these sources, budget and starting point is not valid (``None``: it is).

    Usage::

        task_refusal("semi_supervised", ("xray",), 0.0, (), False)   # '... needs a target_budget > 0 ...'
    """
    if setting not in TASK_SETTINGS:
        return f"unknown setting {setting!r}; known: {', '.join(TASK_SETTINGS)}"
    if setting == "source_free":
        if sources:
            return (f"a source_free task reads no source images, but it names source {', '.join(sources)}; "
                    f"train the source model in a pretrain step instead: pretrain: [{{domain: {sources[0]}}}]")
        if not pretrain and not has_init:
            return ("a source_free task starts from a source model: give it pretrain steps (the last keeps its "
                    "head) or set init: to a finished run")
        if budget:
            return "a source_free task uses no target labels: set target_budget to 0"
    if setting == "semi_supervised":
        if not sources:
            return "a semi_supervised task needs a labeled source: add source"
        if not 0 < budget < 1:
            return "a semi_supervised task needs a target_budget in (0, 1): the labeled part, the rest unlabeled"
    if setting == "generalization":
        if len(sources) < 2:
            return (f"a generalization task trains on several source sites and has {len(sources)}; list at least "
                    "two under source")
        if budget:
            return "a generalization task never reads the target in training: set target_budget to 0"
        if pretrain:
            return "a generalization task takes no pretrain steps here; train on its sources"
    return None


def algorithm_refusal(setting: str, algorithm: str, supported: tuple[str, ...]) -> str | None:
    """Why ``algorithm`` (declaring ``supported`` settings) cannot run on a task of ``setting``, or ``None``."""
    if setting in supported:
        return None
    return (f"algorithm '{algorithm}' does not run in the {setting} setting (it supports: {', '.join(supported)}); "
            f"use an algorithm for {setting} tasks (medzoo list algorithms)")


__all__ = ["DEFAULT_SETTING", "TASK_SETTINGS", "TaskSetting", "algorithm_refusal", "setting_names", "task_refusal"]
