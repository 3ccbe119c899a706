"""Statistics over result records: mean, sample std and a 95% CI across seeds; average ranks across tasks.

Records are grouped by the fields in ``by`` (default: suite, setting, task, algorithm, backbone, selection rule),
so each group holds the seeds of one configuration; ``setting`` is the task's (:mod:`zoo.results.setting`:
``transfer`` for records before settings), so groups, ranks and gains never mix settings. A group where one
seed appears twice mixes configurations (e.g. two points of an hparam sweep); that is logged, and ``by`` can
name any dotted path (``"hparams"``, ``"hparams.lambda"``, ``"task.target_budget"``) to split them apart.

Confidence intervals: ``ci="shared"`` (the default of the tables that show intervals) is the interval
over seeds *and* the target test images every seed shares (:mod:`zoo.results.shared_test`), computed from
the per-image predictions the runs keep; runs without them fall back to the t-interval, and ``ci_levels``
says which ("seeds+shared images" or "seeds (t: no predictions)"). ``ci="t"`` is the Student-t interval
``mean ± t_{(1+c)/2, n-1} · std / sqrt(n)`` (scipy, imported on first use); ``ci="bootstrap"`` is a seeded
percentile bootstrap, so the same records give the same interval: two-level (seeds, then test samples from
each run's confusion matrix; see :mod:`zoo.results.bootstrap`) for metrics of the confusion matrix when
every run has one, else over seeds only (AUROC, ECE, NLL, old records); ``ci_levels`` in each row says
which. With one seed the std and both intervals are NaN.

Ranks: on each task the algorithms present are ranked by their mean (ties share the average rank), within
one suite, setting, backbone and selection rule; a task with one algorithm ranks nothing and is left out;
``n_tasks`` says on how many tasks an algorithm was ranked, so partial coverage is visible. ECE and NLL rank
lower-is-better.

Usage::

    rows = summarize(store.records(), metric="balanced_accuracy")
    rows[0]   # {'suite': 'quick@1', 'task': ..., 'n': 3, 'mean': 0.9, 'std': 0.1, 'ci_low': ..., 'ci_high': ...}
    rank(store.records())   # average rank of each algorithm across tasks (1 = best)
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from typing import Any, Iterable, Sequence

from zoo.errors import ConfigError
from zoo.results.setting import record_setting

logger = logging.getLogger(__name__)

DEFAULT_BY = ("suite", "setting", "task", "algorithm", "backbone", "selection")
CI_METHODS = ("shared", "t", "bootstrap", None)
RANK_BY = ("suite", "setting", "backbone", "selection")  # ranks and blocks never cross these
LOWER_IS_BETTER = ("ece", "nll")
MISSING = "-"


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def backbone_label(backbone: dict[str, Any] | str) -> str:
    """``name`` or ``name[k=v,...]``: backbones with different options are different configurations.

    Usage::

        backbone_label({"name": "timm/resnet18", "options": {"pretrained": True}})  # 'timm/resnet18[pretrained=true]'
    """
    if isinstance(backbone, str):
        return backbone
    options = backbone.get("options") or {}
    inner = ",".join(f"{key}={_compact(options[key])}" for key in sorted(options))
    return f"{backbone['name']}[{inner}]" if inner else backbone["name"]


def group_value(record: dict[str, Any], field: str) -> str:
    """The string a record groups under for ``field`` (a short name or any dotted path; ``"-"`` if absent).

    Usage::

        group_value(record, "suite")            # 'quick@1'
        group_value(record, "setting")          # 'transfer' (zoo.results.setting: also for older records)
        group_value(record, "hparams.lambda")   # '0.1'
    """
    if field == "suite":
        return f"{record['suite']['name']}@{record['suite']['version']}"
    if field == "task":
        return record["task"]["name"]
    if field == "setting":
        return record_setting(record)
    if field == "backbone":
        return backbone_label(record["backbone"])
    if field == "selection":
        return record["selection"]["rule"]
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return _compact(value)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; NaN for one value).

    Usage::

        mean_std([0.8, 0.9, 1.0])   # (0.9, 0.1)
    """
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    # Shifted by the first value: identical values give exactly that value and std 0, without float noise.
    shift = values[0]
    mean = shift + math.fsum(x - shift for x in values) / n
    if n == 1:
        return mean, math.nan
    return mean, math.sqrt(math.fsum((x - mean) ** 2 for x in values) / (n - 1))


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean: ``mean ± t_{(1+c)/2, n-1} * std / sqrt(n)``.

    Usage::

        t_interval([0.8, 0.9, 1.0])   # (0.6516, 1.1484): half-width 0.1 * 4.3027 / sqrt(3)
    """
    n = len(values)
    mean, std = mean_std(values)
    if n < 2:
        return math.nan, math.nan
    from scipy.stats import t as student_t  # lazy: scipy is only needed when intervals are asked for

    half = float(student_t.ppf((1 + confidence) / 2, n - 1)) * std / math.sqrt(n)
    return mean - half, mean + half


def bootstrap_interval(values: Sequence[float], confidence: float = 0.95, n_boot: int = 10_000,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (``n_boot`` resamples, seeded: reproducible).

    Usage::

        bootstrap_interval([0.8, 0.9, 1.0], n_boot=2000, seed=0)
    """
    if len(values) < 2:
        return math.nan, math.nan
    import numpy as np

    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(n_boot, len(data)))].mean(axis=1)  # (n_boot,)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


COST_METRICS = ("train_s", "eval_s", "total_s", "images_per_s", "peak_memory_mb")  # from record["timings"]


def metric_value(record: dict[str, Any], split: str, metric: str) -> float | None:
    """``metrics[split][metric]``; ``"recall:malignant"`` reads the per-class report (``per_class[cls][recall]``);
    a cost (``train_s``, ``images_per_s``, ``peak_memory_mb``, ...) reads the run's ``timings``."""
    metrics = record.get("metrics", {}).get(split, {})
    name, _, cls = metric.partition(":")
    if metric in COST_METRICS:
        value = record.get("timings", {}).get(metric)
    else:
        value = metrics.get("per_class", {}).get(cls, {}).get(name) if cls else metrics.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def summarize(records: Iterable[dict[str, Any]], metric: str = "accuracy", split: str = "target_test",
              by: Sequence[str] = DEFAULT_BY, *, ci: str | None = "t", confidence: float = 0.95,
              n_boot: int = 10_000, seed: int = 0) -> list[dict[str, Any]]:
    """One row per group: the ``by`` fields, ``n`` (seeds), ``mean``, ``std``, ``ci_low``/``ci_high`` and more.

    Records without a finite ``metrics[split][metric]`` (e.g. an undefined AUROC) are left out of ``n``.
    ``ci``: ``"t"`` (Student-t), ``"bootstrap"`` (percentile, seeded by ``seed``; two-level where the runs
    have confusion matrices, see the module docstring) or ``None`` (no interval).
    Rows are sorted by their group fields; values inside a row are ordered by seed.

    Usage::

        for row in summarize(records, metric="f1", split="target_test", ci="bootstrap"):
            print(row["task"], row["algorithm"], row["mean"], row["ci_low"], row["ci_high"])
    """
    if ci not in CI_METHODS:
        raise ConfigError(f"unknown confidence interval {ci!r}; use one of: t, bootstrap")
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}")
    groups: dict[tuple[str, ...], list[tuple[Any, str, float]]] = defaultdict(list)
    for record in records:
        value = metric_value(record, split, metric)
        if value is None:
            continue
        key = tuple(group_value(record, field) for field in by)
        groups[key].append((record.get("seed"), record.get("run_id", ""), value, record))
    rows = []
    for key in sorted(groups):
        runs = sorted(groups[key], key=lambda run: (str(run[0]), run[1]))
        seeds = [run[0] for run in runs]
        if len(set(map(str, seeds))) < len(seeds):
            logger.warning("%s: several runs share a seed, so this group mixes configurations; "
                           "add e.g. 'hparams' to `by` to separate them", dict(zip(by, key)))
        values = [run[2] for run in runs]
        mean, std = mean_std(values)
        levels = "seeds"
        if ci == "shared":
            low, high, levels = _shared(runs, metric, split, confidence, n_boot, seed)
        elif ci == "t":
            low, high = t_interval(values, confidence)
        elif ci == "bootstrap":
            low, high, levels = _bootstrap(runs, metric, split, confidence, n_boot, seed)
        else:
            low = high = math.nan
        rows.append({**dict(zip(by, key)), "metric": metric, "split": split, "n": len(values), "mean": mean,
                     "std": std, "ci_low": low, "ci_high": high, "ci_method": ci, "ci_levels": levels,
                     "confidence": confidence, "values": values, "seeds": seeds, "run_ids": [run[1] for run in runs]})
    return rows


def _shared(runs: list[tuple], metric: str, split: str, confidence: float, n_boot: int,
            seed: int) -> tuple[float, float, str]:
    """The interval over seeds and the shared test images when every run kept predictions, else the t one."""
    from zoo.results.weighted_metrics import resamples_images

    if len(runs) >= 2 and resamples_images(metric.partition(":")[0]) and not metric.partition(":")[2]:
        from zoo.results.per_sample import cell_predictions
        from zoo.results.shared_test import shared_test_interval

        cell = cell_predictions([run[3] for run in runs], split)
        if cell is not None:
            found = shared_test_interval(cell.labels, cell.probs, metric, n_boot=min(n_boot, 2000), seed=seed,
                                         confidence=confidence)
            return found["ci_low"], found["ci_high"], "seeds+shared images"
    return (*t_interval([run[2] for run in runs], confidence), "seeds (t: no predictions)")


def _bootstrap(runs: list[tuple], metric: str, split: str, confidence: float, n_boot: int,
               seed: int) -> tuple[float, float, str]:
    """Two-level interval when every run has a usable confusion matrix, else the seed-level one."""
    from zoo.results.bootstrap import confusion_input, hierarchical_bootstrap

    records = [run[3] for run in runs]
    if all(confusion_input(record, metric, split) is not None for record in records):
        found = hierarchical_bootstrap(records, metric, split, n_boot=n_boot, seed=seed, confidence=confidence)
        return found["ci_low"], found["ci_high"], "seeds+samples"
    return (*bootstrap_interval([run[2] for run in runs], confidence, n_boot, seed), "seeds")


def average_ranks(scores: dict[str, float], higher_is_better: bool = True) -> dict[str, float]:
    """Rank 1 = best; tied scores share the average of the ranks they span.

    Usage::

        average_ranks({"a": 0.9, "b": 0.8, "c": 0.8})   # {'a': 1.0, 'b': 2.5, 'c': 2.5}
    """
    sign = -1.0 if higher_is_better else 1.0
    ordered = sorted(scores, key=lambda name: (sign * round(scores[name], 12), name))
    ranks: dict[str, float] = {}
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and round(scores[ordered[end + 1]], 12) == round(scores[ordered[start]], 12):
            end += 1
        for name in ordered[start:end + 1]:  # positions start..end (0-based) -> ranks start+1..end+1
            ranks[name] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def rank(records: Iterable[dict[str, Any]], metric: str = "accuracy", split: str = "target_test",
         by: Sequence[str] = RANK_BY, *, over: str = "task", item: str = "algorithm",
         higher_is_better: bool | None = None) -> list[dict[str, Any]]:
    """Average rank of each ``item`` (algorithm) across ``over`` (tasks), on complete blocks only.

    On each task the algorithms are ranked by their mean over seeds (1 = best, ties averaged). Ranks are
    averaged only over a *block*: the tasks on which exactly the same algorithms have a value
    (:func:`zoo.results.blocks.families`); averaging over tasks with different competitors would reward an
    algorithm for being run where there are fewer of them. Each block gives its own rows (``block``:
    "6 algorithms x 12 tasks", ``block_methods``, ``block_tasks``), so an algorithm run in two families of
    tasks appears twice; ``n_tasks`` is the block's size, ``n_tasks_total`` the tasks of the group with two
    or more algorithms. Groups are ``by`` (default :data:`RANK_BY`: suite, setting, backbone, selection), so a
    block never holds tasks of two settings. ``higher_is_better`` defaults by metric (ECE, NLL: lower).

    Usage::

        for row in rank(records, metric="balanced_accuracy"):
            print(row["block"], row["algorithm"], row["mean_rank"])
    """
    from zoo.results.blocks import block_label, families

    if higher_is_better is None:
        higher_is_better = metric.partition(":")[0] not in LOWER_IS_BETTER
    rows = summarize(records, metric, split, by=(*by, over, item), ci=None)
    per_group: dict[tuple[str, ...], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        per_group[tuple(row[field] for field in by)][row[over]][row[item]] = row["mean"]
    result = []
    for key, per_task in per_group.items():
        n_total = sum(len(scores) >= 2 for scores in per_task.values())
        for methods, tasks in families(per_task):
            task_ranks = {task: average_ranks(per_task[task], higher_is_better) for task in tasks}
            for name in methods:
                ranks = {task: task_ranks[task][name] for task in tasks}
                result.append({**dict(zip(by, key)), item: name, "mean_rank": math.fsum(ranks.values()) / len(ranks),
                               "n_tasks": len(tasks), "n_tasks_total": n_total, "ranks": dict(sorted(ranks.items())),
                               "block": block_label(methods, tasks), "block_methods": list(methods),
                               "block_tasks": tasks, "metric": metric, "split": split,
                               "higher_is_better": higher_is_better})
    result.sort(key=lambda row: (*(row[field] for field in by), -row["n_tasks"], row["block"], row["mean_rank"],
                                 row[item]))
    return result


def main_block(rows: Sequence[dict[str, Any]], item: str = "algorithm") -> dict[tuple, dict[str, Any]]:
    """One rank row per (group fields, item): the largest block it was ranked in (what a one-rank view shows).

    Usage::

        main_block(rank(records))[("quick@1", "transfer", "simple_cnn", "source_val", "dann")]["mean_rank"]
    """
    out: dict[tuple, dict[str, Any]] = {}
    for row in rows:  # rank() lists larger blocks first
        key = tuple(v for k, v in row.items() if k in RANK_BY) + (row[item],)
        out.setdefault(key, row)
    return out
