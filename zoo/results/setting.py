"""A run's task setting, read from its record: the one place results and the leaderboard learn it.

A record states its task's setting in ``task.setting`` (:mod:`zoo.task_settings`: ``transfer``,
``source_free``, ``semi_supervised``, ``generalization``); records written before settings existed have
none and are ``transfer``, which every medzoo task was then. Results are grouped by setting: a method is
only ranked against, and compared with, methods of its own setting (a source-free method never against a
transfer method, even where tasks share a name). :func:`by_setting` splits records, in the declared order.

Usage::

    record_setting(record)                    # 'source_free'; 'transfer' for an older record
    for setting, runs in by_setting(records).items(): ...
    setting_caption(["source_free"])          # 'setting: source_free (a source model and unlabeled ...)'
"""

from __future__ import annotations

from typing import Any, Iterable

from zoo.task_settings import DEFAULT_SETTING, TASK_SETTINGS

SETTING_FIELD = ("task", "setting")  # where a record keeps it


def record_setting(record: dict[str, Any]) -> str:
    """The setting of a record's task; ``transfer`` when the record names none (written before settings).

    Usage::

        record_setting({"task": {"name": "a", "setting": "generalization"}})   # 'generalization'
    """
    task = record.get("task")
    value = task.get("setting") if isinstance(task, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else DEFAULT_SETTING


def setting_order(name: str) -> tuple[int, str]:
    """A sort key: the declared settings in their order (transfer first), then any other name alphabetically.

    Usage::

        sorted(["source_free", "transfer"], key=setting_order)   # ['transfer', 'source_free']
    """
    names = list(TASK_SETTINGS)
    return (names.index(name), name) if name in names else (len(names), name)


def setting_summary(name: str) -> str:
    """The setting's one-line summary (``TASK_SETTINGS[name].summary``); ``""`` for a name medzoo does not know.

    Usage::

        setting_summary("source_free")   # 'a source model and unlabeled target images; no source image'
    """
    found = TASK_SETTINGS.get(name)
    return found.summary if found else ""


def settings_of(records: Iterable[dict[str, Any]]) -> list[str]:
    """The settings present in ``records``, in :func:`setting_order`.

    Usage::

        settings_of(records)   # ['transfer', 'source_free']
    """
    return sorted({record_setting(record) for record in records}, key=setting_order)


def by_setting(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``{setting: its records}``, settings in :func:`setting_order`, records in their given order.

    Usage::

        for setting, runs in by_setting(records).items():
            rank(runs, "balanced_accuracy")   # ranks within one setting
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(record_setting(record), []).append(record)
    return {name: groups[name] for name in sorted(groups, key=setting_order)}


def setting_caption(names: Iterable[str]) -> str | None:
    """The line a table carries about its settings: None for transfer alone (what every table was before
    settings), ``setting: X (summary)`` for one other, and for several, that each is compared only within itself.

    Usage::

        setting_caption(["transfer", "source_free"])
        # 'settings: transfer, source_free; gains, ranks and Friedman tests are computed within one setting only'
    """
    names = sorted(set(names), key=setting_order)
    if not names or names == [DEFAULT_SETTING]:
        return None
    if len(names) == 1:
        summary = setting_summary(names[0])
        return f"setting: {names[0]}" + (f" ({summary})" if summary else "")
    return f"settings: {', '.join(names)}; gains, ranks and Friedman tests are computed within one setting only"
