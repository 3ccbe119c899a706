"""What the runs of a benchmark share: the independent units of a test across tasks, and complete blocks.

**Units.** Tasks are not independent replicates. In ``acquisition-shift`` the 8 X-ray tasks train on the
same source images, so ``source_only`` (which never sees the target) is one model per seed evaluated under 8
shifts, and every X-ray task scores the same target images. A test that treats 20 tasks x 5 seeds as 100
independent pairs counts the same baseline draw up to 8 times. The unit that is independent of the others
is a *source group x seed*: tasks whose runs train on the same data (the same source domains, ignoring
the target's acquisition shift, and the same pretraining chain) form one source group. Tasks without a
source or pretraining are their own group. A group is of one task setting (:mod:`zoo.results.setting`): a
source-free task and a transfer task never share a unit, even from the same pretraining.

**Complete blocks.** An average rank over tasks where different sets of methods ran is biased by the
layout (a method run only on the tasks with fewer competitors collects smaller ranks). A *family* is the
set of tasks on which exactly the same methods ran; ranks and the Friedman test use one family at a time,
within one suite, setting, backbone and selection rule (``zoo.results.stats.RANK_BY``), so the setting is part
of every block's key.

Usage::

    source_group(record)                         # '{"pretrain":[],"sources":[{"dataset":"pneumoniamnist",...}]}'
    families({"t1": {"a": .8, "b": .7}, "t2": {"a": .9, "b": .6}, "t3": {"a": .5}})
    # [(('a', 'b'), ['t1', 't2'])]: t3 has one method and ranks nothing
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from zoo.results.setting import record_setting
from zoo.task_settings import DEFAULT_SETTING

SHIFT_KEYS = ("shift", "name")  # what makes one data source look like another without changing its images


def _data(spec: Any) -> Any:
    """A domain spec without its acquisition shift and display name: the images a run trains on."""
    if not isinstance(spec, dict):
        return spec
    return {key: value for key, value in spec.items() if key not in SHIFT_KEYS}


def source_group(record: dict[str, Any]) -> str:
    """The key of the data a run trains on before the target (sources and pretraining; no target shift).

    Usage::

        source_group(record) == source_group(other)   # same training data: same source_only model per seed
    """
    task = record.get("task") or {}
    domains = task.get("domains") or {}
    sources = task.get("source") or []
    sources = [sources] if isinstance(sources, str) else sources
    pretrain = [{**step, "domain": _data(domains.get(step.get("domain"), step.get("domain")))}
                if isinstance(step, dict) else step for step in task.get("pretrain") or []]
    setting = record_setting(record)
    extra = {} if setting == DEFAULT_SETTING else {"setting": setting}  # transfer keys read as before settings
    if not sources and not pretrain:
        return json.dumps({"task": task.get("name"), **extra})
    return json.dumps({"sources": [_data(domains.get(s, s)) for s in sources], "pretrain": pretrain, **extra},
                      sort_keys=True, separators=(",", ":"), default=str)


def families(per_task: dict[str, dict[str, float]]) -> list[tuple[tuple[str, ...], list[str]]]:
    """Tasks grouped by the exact set of methods with a value there: ``[(methods, tasks)]``, largest first.

    A family needs two methods; tasks with one are left out.

    Usage::

        for methods, tasks in families(per_task): ...
    """
    found: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for task, scores in per_task.items():
        if len(scores) >= 2:
            found[tuple(sorted(scores))].append(task)
    return sorted(((m, sorted(t)) for m, t in found.items()), key=lambda item: (-len(item[1]), -len(item[0]), item[0]))


def block_label(methods: tuple[str, ...] | list[str], tasks: list[str]) -> str:
    """``"6 algorithms x 20 tasks"``: what a table of ranks was computed on.

    Usage::

        block_label(("a", "b"), ["t1", "t2"])   # '2 algorithms x 2 tasks'
    """
    return f"{len(methods)} algorithms x {len(tasks)} tasks"
