"""Result records as a Hub dataset: one parquet row per run, appended without losing earlier runs.

Layout of the dataset repo: ``data/results.parquet`` and a dataset card ``README.md``. Columns:
``hub_schema_version`` (this layout, ``HUB_SCHEMA_VERSION``), every record field (``run_id``,
``algorithm``, ``created_at`` as strings, ``seed`` and ``schema_version`` as integers, nested fields as
JSON strings, absent optional fields as null) and a few flat columns for browsing (``suite_name``,
``task_name``, ``backbone_name``, ``target_test_accuracy``) that readers ignore. Reading the rows back
gives the very records that were published (JSON round-trips floats exactly).

Usage::

    publish_results(["medzoo-runs"], "my-lab/medzoo-results")      # appends, dedupes by run_id
    records = read_hub_results("my-lab/medzoo-results")
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

from zoo.errors import DataError, HubError
from zoo.hub.client import hub_errors, offline, reachable, resolve_endpoint, unreachable_error

HUB_SCHEMA_VERSION = 1
DATA_FILE = "data/results.parquet"
STRING_FIELDS = ("run_id", "algorithm", "created_at")
INT_FIELDS = ("schema_version", "seed")


def records_to_table(records: list[dict[str, Any]]):
    """A pyarrow Table with one row per record (see the module docstring for the columns)."""
    import pyarrow as pa

    from zoo.results.record import FIELDS

    columns: dict[str, Any] = {"hub_schema_version": pa.array([HUB_SCHEMA_VERSION] * len(records), pa.int32())}
    for name in FIELDS:
        values = [r.get(name) for r in records]
        if name in INT_FIELDS:
            columns[name] = pa.array(values, pa.int64())
        elif name in STRING_FIELDS:
            columns[name] = pa.array(values, pa.string())
        else:
            texts = [None if v is None else json.dumps(v, sort_keys=True) for v in values]
            columns[name] = pa.array(texts, pa.string())
    columns["suite_name"] = pa.array([r["suite"]["name"] for r in records], pa.string())
    columns["task_name"] = pa.array([r["task"]["name"] for r in records], pa.string())
    columns["backbone_name"] = pa.array([r["backbone"]["name"] for r in records], pa.string())
    columns["target_test_accuracy"] = pa.array(
        [r["metrics"].get("target_test", {}).get("accuracy") for r in records], pa.float64())
    return pa.table(columns)


def table_to_records(table, where: str) -> list[dict[str, Any]]:
    """The records of a table written by ``records_to_table`` (validated)."""
    from zoo.results.names import canonical_record
    from zoo.results.record import FIELDS, validate_record

    names = set(table.column_names)
    if "hub_schema_version" not in names or "run_id" not in names:
        raise DataError(f"{where}: not a medzoo results dataset (no hub_schema_version / run_id columns)")
    versions = set(table.column("hub_schema_version").to_pylist())
    if versions - {HUB_SCHEMA_VERSION}:
        raise DataError(f"{where}: results written with layout version {sorted(versions)}, this medzoo reads "
                        f"{HUB_SCHEMA_VERSION}; upgrade medzoo")
    rows = table.to_pylist()
    records = []
    for i, row in enumerate(rows):
        record = {}
        for name in FIELDS:
            value = row.get(name)
            if value is None:
                continue
            record[name] = value if name in STRING_FIELDS + INT_FIELDS else json.loads(value)
        problems = validate_record(record)
        if problems:
            raise DataError(f"{where}: row {i} is not a valid result record: {problems[0]}")
        records.append(canonical_record(record))  # an older record's renamed components: current names
    return records


def _download_table(repo: str, endpoint: str, token: str | None, revision: str | None, cache_dir: Any,
                    missing_ok: bool):
    import pyarrow.parquet as pq
    from huggingface_hub import errors as hf
    from huggingface_hub import hf_hub_download

    local_only = offline() or not reachable(endpoint)
    try:
        path = hf_hub_download(repo, DATA_FILE, repo_type="dataset", revision=revision, endpoint=endpoint,
                               token=token, cache_dir=cache_dir, local_files_only=local_only)
    except (hf.RepositoryNotFoundError, hf.RemoteEntryNotFoundError) as err:
        if missing_ok and not isinstance(err, hf.GatedRepoError):
            return None
        with hub_errors(repo, endpoint, revision, DATA_FILE, token, "dataset"):
            raise
    except Exception:
        if local_only and not offline():
            raise unreachable_error(endpoint, repo, DATA_FILE) from None
        with hub_errors(repo, endpoint, revision, DATA_FILE, token, "dataset"):
            raise
    return pq.read_table(path)


def read_hub_results(repo: str, endpoint: str | None = None, token: str | None = None, revision: str | None = None,
                     cache_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The records of the results dataset ``repo`` (``org/name``; ``hf://datasets/org/name`` also accepted)."""
    repo = repo.removeprefix("hf://datasets/").strip("/")
    base, _, rev = repo.partition("@")
    endpoint = resolve_endpoint(endpoint)
    table = _download_table(base, endpoint, token, rev or revision, cache_dir, missing_ok=False)
    return table_to_records(table, f"dataset '{base}'")


def render_dataset_card(repo: str, records: list[dict[str, Any]]) -> str:
    suites = sorted({f"{r['suite']['name']} v{r['suite']['version']}" for r in records})
    tasks = sorted({r["task"]["name"] for r in records})
    algorithms = sorted({r["algorithm"] for r in records})
    return "\n".join([
        "---",
        "license: cc-by-4.0",
        "tags: [medzoo, medical-imaging, benchmark, transfer-learning]",
        "configs:",
        "- config_name: default",
        f"  data_files: {DATA_FILE}",
        "---",
        f"# {repo}: medzoo results\n",
        f"{len(records)} finished medzoo runs, one row each (`{DATA_FILE}`).\n",
        f"- suites: {', '.join(suites)}",
        f"- tasks: {', '.join(tasks)}",
        f"- algorithms: {', '.join(algorithms)}\n",
        "## Schema\n",
        f"`hub_schema_version` ({HUB_SCHEMA_VERSION}) is this table layout; `schema_version` is the result record's.",
        "`run_id`, `algorithm`, `created_at` are strings, `seed` an integer, every other record field a JSON string",
        "(null when absent). `suite_name`, `task_name`, `backbone_name`, `target_test_accuracy` are flat copies",
        "for browsing. Each record carries its model-selection rule (`selection`), all split metrics and provenance.",
        f"\nRead it back with `zoo.hub.results.read_hub_results(\"{repo}\")` or `medzoo results --hub {repo}`.",
        "\nMetrics are research benchmarks on public datasets; nothing here is clinical evidence.",
        "",
    ])


def publish_results(paths: list[str | Path], repo: str, endpoint: str | None = None, token: str | None = None,
                    cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Append the records in ``paths`` to dataset ``repo`` (kept: every earlier run; added: new run ids)."""
    import pyarrow.parquet as pq

    from zoo.hub.client import token_from
    from zoo.hub.push import upload
    from zoo.results.reader import load_records

    records = load_records(paths)
    if not records:
        raise DataError(f"no finished runs in {', '.join(str(p) for p in paths)}; nothing to publish")
    endpoint = resolve_endpoint(endpoint)
    token = token_from(token)
    if not token:
        raise HubError(f"publishing to {endpoint} needs a token: set HF_TOKEN (a write token) or run `hf auth login`")
    if offline():
        raise HubError("HF_HUB_OFFLINE=1: publishing needs the network; unset HF_HUB_OFFLINE")
    existing_table = _download_table(repo, endpoint, token, None, cache_dir, missing_ok=True)
    existing = table_to_records(existing_table, f"dataset '{repo}'") if existing_table is not None else []
    seen = {r["run_id"] for r in existing}
    added = [r for r in records if r["run_id"] not in seen]
    merged = existing + added
    with tempfile.TemporaryDirectory(prefix="medzoo-results-") as tmp:
        folder = Path(tmp)
        (folder / "data").mkdir()
        buffer = io.BytesIO()
        pq.write_table(records_to_table(merged), buffer)
        (folder / DATA_FILE).write_bytes(buffer.getvalue())
        (folder / "README.md").write_text(render_dataset_card(repo, merged), encoding="utf-8")
        result = upload(folder, repo, "dataset", endpoint, token, f"medzoo publish-results: +{len(added)} runs")
    return {**result, "added": len(added), "kept": len(existing), "total": len(merged)}
