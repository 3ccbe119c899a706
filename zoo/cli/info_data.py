"""``medzoo info`` for datasets and suites: what they hold, where their files are, what a run of them is.

A MedMNIST dataset's card reads ``medmnist_info.tsv`` (modality, task, class names, the official split
sizes, licence, citations, URL and md5 of each size) and, when the file is in the data folder, the images
per class and split from its labels (only the label arrays are read). Other datasets show their docstrings
and the options their factory takes. A suite's card loads the suite (and each preset) as ``medzoo run``
does: its tasks (setting, sources -> target, budget, algorithms, pretraining chain), runs per task and per
preset, its defaults and primary metric, and per task the files it reads and whether they are present
(``zoo.bench.data_needs``).

Usage::

    render_card(dataset_card("breastmnist", size=28, data_dir=None))
    render_card(suite_card("quick", data_dir="/data"))
"""

from __future__ import annotations

import inspect
from collections import Counter
from pathlib import Path
from typing import Any

from zoo.cli.info_models import option_table
from zoo.cli.info_render import Card, CardTable, doc_text, reflow
from zoo.errors import ConfigError, MedzooError

MD5_CHECK_MAX_BYTES = 100 * 2**20  # larger files are md5-checked by `medzoo doctor`, not by `info`
SPLITS = ("train", "val", "test")


# -- datasets ----------------------------------------------------------------------------------------
def _file_state(path: Path, md5: str) -> str:
    """``present, md5 verified`` / ``present, md5 differs ...`` / ``present (md5 not checked ...)`` / ``missing``."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size > MD5_CHECK_MAX_BYTES:
        return f"present ({size / 2**20:.0f} MB; md5 not checked here: medzoo doctor verifies it)"
    from zoo.datasets.download import file_md5

    found = file_md5(path)
    return "present, md5 verified" if found == md5 else f"present, but md5 {found} is not the official one"


def class_counts(path: Path, num_classes: int, multi_label: bool) -> dict[str, list[int]]:
    """Images per class in each split of a MedMNIST-layout file, from its label arrays alone.

    Multi-label files (ChestMNIST) count the images showing each finding.

    Usage::

        class_counts(Path("/data/medmnist/breastmnist.npz"), 2, False)   # {'train': [147, 399], ...}
    """
    import numpy as np

    counts: dict[str, list[int]] = {}
    with np.load(path) as arrays:
        for split in SPLITS:
            labels = np.asarray(arrays[f"{split}_labels"])
            if multi_label:
                counts[split] = [int(v) for v in labels.reshape(len(labels), -1).sum(axis=0)]
            else:
                counts[split] = [int(v) for v in np.bincount(labels.reshape(-1).astype(np.int64),
                                                             minlength=num_classes)]
    return counts


def medmnist_card(flag: str, size: int, data_dir: Any, source: str) -> Card:
    """The card of a MedMNIST flag at ``size``: facts of the official file, its presence and its class counts."""
    from zoo.bench.data_needs import domain_file
    from zoo.datasets.medmnist import MEDMNIST_CITATION, SIZES, medmnist_file, medmnist_table

    meta = medmnist_file(flag, size)
    need = domain_file(flag, {"dataset": flag, "size": size}, data_dir)
    folder = need.path.parent
    sizes = [s for s in SIZES if (flag, s) in medmnist_table()]
    present = [s for s in sizes if (folder / medmnist_file(flag, s).file).is_file()]
    k = len(meta.label_names)
    card = Card("dataset", flag if size == 28 else f"{flag} (size {size})")
    card.summary = (f"MedMNIST v2 {flag}: {meta.modality}, {meta.task}, {k} "
                    f"{'findings' if meta.multi_label else 'classes'}, {meta.channels} channel"
                    f"{'s' if meta.channels > 1 else ''}, official train/val/test splits.")
    card.fields = [
        ("modality", meta.modality),
        ("task", meta.task + ("; name one finding with label: <name> for a binary task" if meta.multi_label else "")),
        ("classes", f"{k}: " + ", ".join(f"{i} {name!r}" for i, name in enumerate(meta.label_names))),
        ("splits (official)", f"train {meta.n['train']}, val {meta.n['val']}, test {meta.n['test']} "
                              f"(total {sum(meta.n.values())})"),
        ("sizes", ", ".join(f"{s} px" + (" (present)" if s in present else "") for s in sizes)
         + f"; this card: {size} px (--size)"),
        ("licence", meta.license),
        ("citation", MEDMNIST_CITATION),
        ("source data", meta.source_citation),
        ("file", meta.file),
        ("url", meta.download_url),
        ("md5", meta.md5),
        ("location", str(need.path)),
        ("status", _file_state(need.path, meta.md5)
         + ("" if need.present else f"; get it with: {need.download} (or --download on medzoo run)")),
        ("from", source),
    ]
    rows: list[list[str]] = []
    note = "per-class counts are read from the file's labels when it is present"
    if need.present:
        try:
            counts = class_counts(need.path, k, meta.multi_label)
        except Exception as exc:  # noqa: BLE001 - a damaged file is reported in the card, not a traceback
            note = f"could not read the labels of {need.path.name}: {exc}"
        else:
            rows = [[f"{i} {name}", *(str(counts[s][i]) for s in SPLITS)] for i, name in enumerate(meta.label_names)]
            if not meta.multi_label:
                found = [sum(counts[s]) for s in SPLITS]
                rows.append(["total in file", *map(str, found)])
                if found != [meta.n[s] for s in SPLITS]:
                    note = f"{meta.file} does not hold the official split sizes: re-download it"
            else:
                note = "multi-label: images showing each finding (an image may show several)"
    else:
        rows = [[f"{i} {name}", "", "", ""] for i, name in enumerate(meta.label_names)]
        note = f"{meta.file} is not in {folder}: per-class counts need the file"
    rows.append(["total (official)", *(str(meta.n[s]) for s in SPLITS)])
    card.tables.append(CardTable(f"images per class and split ({size} px)", ["class", *SPLITS], rows, note=note))
    card.notes.append(f"in a suite: domains: {{x: {{dataset: {flag}, size: {size}}}}}")
    return card


def dataset_card(name: str, size: int | None = None, data_dir: Any = None) -> Card:
    """The card of dataset ``name``; ``size`` picks a MedMNIST image size (default 28).

    Usage::

        dataset_card("breastmnist").fields        # modality, classes, splits, licence, citation, file, ...
    """
    from zoo.datasets import DATASETS
    from zoo.datasets.medmnist import FLAGS
    from zoo.datasets.paths import resolve_data_dir

    entry = DATASETS.entry(name)
    factory = DATASETS.get(name)
    if entry.is_builtin and name in FLAGS:
        return medmnist_card(name, 28 if size is None else size, data_dir, entry.source)
    if size is not None:
        raise ConfigError(f"--size picks the size of a MedMNIST file; dataset '{name}' is not one "
                          "(see its options for image_size)")
    module = inspect.getmodule(factory)
    module_doc = reflow(doc_text(module)) if module is not None and entry.is_builtin else ""
    summary = "\n\n".join(filter(None, [module_doc, reflow(doc_text(factory, usage=True))]))
    card = Card("dataset", name, summary=summary)
    card.fields = [("factory", f"{getattr(factory, '__module__', '?')}:{getattr(factory, '__qualname__', name)}"),
                   ("from", entry.source)]
    params = _parameters(factory)
    if "data_dir" in params or "path" in params:
        card.fields.append(("data folder", f"{resolve_data_dir(data_dir)} (relative paths resolve here; "
                                           "--data-dir or $MEDZOO_DATA)"))
    table = option_table(factory, title="options (keys of its domain in a suite)")
    if table:
        card.tables.append(table)
    card.notes.append(f"in a suite: domains: {{x: {{dataset: {name}, ...options}}}}")
    return card


def _parameters(factory) -> set[str]:
    try:
        return set(inspect.signature(factory).parameters)
    except (TypeError, ValueError):
        return set()


# -- suites ------------------------------------------------------------------------------------------
def flatten(value: Any, prefix: str = "") -> list[str]:
    """``{"train": {"epochs": 30}}`` -> ``["train.epochs=30"]`` (how a preset reads as overrides)."""
    if isinstance(value, dict) and value:
        return [item for key, sub in value.items() for item in flatten(sub, f"{prefix}{key}.")]
    return [f"{prefix.rstrip('.')}={value}"]


def _domain_text(spec: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in spec.items() if k not in ("dataset", "partition", "shift")]
    if isinstance(spec.get("partition"), dict):
        p = spec["partition"]
        parts.append(f"part {p.get('part')} of {p.get('of')}")
    if isinstance(spec.get("shift"), dict):
        s = spec["shift"]
        parts.append(f"shift {s.get('name')}" + (f" severity {s['severity']}" if "severity" in s else ""))
    return ", ".join(parts)


def _run_count(name: str, preset: str | None) -> tuple[str, Counter]:
    """(the number of runs of ``name`` under ``preset`` as text, runs per task); an error is shown, not raised."""
    from zoo.bench.suite import load_suite

    try:
        runs = load_suite(name, preset=preset).runs()
    except MedzooError as exc:
        return f"error: {exc}", Counter()
    return str(len(runs)), Counter(run.task.name for run in runs)


def suite_card(name: str, data_dir: Any = None) -> Card:
    """The card of suite ``name``: description, citation, defaults, tasks, presets with run counts, data.

    Usage::

        card = suite_card("quick"); [t.title for t in card.tables]    # tasks, domains, presets, data
    """
    from zoo.bench.data_needs import missing_hint, suite_data_status
    from zoo.bench.suite import load_suite
    from zoo.bench.suites_registry import SUITES
    from zoo.bench.yaml_lines import load_yaml_with_lines

    source = SUITES.entry(name).source if name in SUITES else "a suite file"
    suite = load_suite(name)
    raw = load_yaml_with_lines(suite.path).data
    defaults = suite.defaults
    train = defaults["train"]
    selection = defaults["selection"]
    card = Card("suite", name, summary=suite.description)
    card.fields = [
        ("citation", str(raw.get("citation") or "(none given)")),
        ("version", str(suite.version)),
        ("file", str(suite.path)),
        ("from", source),
        ("backbone", str(defaults["backbone"].get("name"))),
        ("training", f"{train['epochs']} epochs, batch {train['batch_size']}, lr {train['lr']:g}, "
                     f"{train['optimizer']}" + (f", scheduler {train['scheduler']}" if train["scheduler"] != "none"
                                                 else "")),
        ("seeds", ", ".join(map(str, defaults["seeds"]))),
        ("selection", f"rule {selection['rule']}, metric {selection['metric']}"),
        ("primary metric", suite.primary_metric or "not declared: medzoo results ranks by balanced accuracy when a "
                                                   "target test split's majority class is over 60%, else accuracy"),
    ]
    if suite.controls:
        card.fields.append(("controls", ", ".join(suite.controls) + " (each adaptation method also runs as NAME@w0)"))
    if suite.sweeps:
        trials = sorted({s.trials for s in suite.sweeps.values()})
        card.fields.append(("sweep", f"{'/'.join(map(str, trials))} random-search trials per task x algorithm x seed"))
    total, per_task = _run_count(name, None)
    statuses = {s.task: s for s in suite_data_status(suite, data_dir)}
    task_rows = []
    for task in suite.tasks:
        chain = " -> ".join(step["domain"] for step in task.pretrain)
        status = statuses.get(task.name)
        if status is None or not status.files:
            data = "no file to check"
        else:
            data = "present" if status.runnable else "missing " + ", ".join(n.path.name for n in status.missing)
        task_rows.append([task.name, task.setting, f"{' + '.join(task.sources) or '(none)'} -> {task.target}",
                          f"{task.target_budget:g}", ", ".join(task.algorithms), chain or "", str(per_task[task.name]),
                          data])
    columns = ["task", "setting", "source -> target", "budget", "algorithms", "pretrain", "runs", "data"]
    card.tables.append(CardTable("tasks", columns, task_rows, note=f"{total} runs in all (task x algorithm x seed)"))
    card.tables.append(CardTable("domains", ["domain", "dataset", "options"],
                                 [[d, str(spec.get("dataset")), _domain_text(spec)]
                                  for d, spec in suite.domains.items()]))
    preset_rows = [["(none)", "the suite's defaults", total]]
    for preset, settings in (raw.get("presets") or {}).items():
        preset_rows.append([str(preset), ", ".join(flatten(settings)) if isinstance(settings, dict) else str(settings),
                            _run_count(name, str(preset))[0]])
    card.tables.append(CardTable("presets", ["preset", "sets", "runs"], preset_rows,
                                 note=f"medzoo run {name} --preset NAME"))
    files: dict[Path, list] = {}  # one row per file, with the tasks reading it
    for task, status in statuses.items():
        for need in status.files:
            files.setdefault(need.path, [need, []])[1].append(task)
    if files:
        from zoo.datasets.paths import portable_path, resolve_data_dir

        missing = [need for need, _ in files.values() if not need.present]
        rows = [[portable_path(path, data_dir), ", ".join(dict.fromkeys(tasks)),
                 "present" if need.present else f"missing: {need.download or 'put your file there'}"]
                for path, (need, tasks) in files.items()]
        note = (f"every file is present: medzoo run {name} runs every task" if not missing else
                f"tasks without their files are skipped; get them with: {missing_hint(missing)}")
        card.fields.append(("data folder", f"{resolve_data_dir(data_dir)} (--data-dir or $MEDZOO_DATA)"))
        card.tables.append(CardTable("data files", ["file", "read by tasks", "status"], rows, note=note))
    card.notes.append(f"medzoo run {name}  # every task whose data is present")
    return card
