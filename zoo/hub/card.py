"""Model cards for medzoo checkpoints: YAML front matter the Hub indexes, then what a clinician-adjacent
user must know: data and licence, preprocessing, label map, intended use and limits, evaluation (with the
protocol that produced it), recipe, sha256 and citation. Numbers come only from the run's result record.

Usage::

    text = render_model_card(config, record)     # config: the checkpoint's config.json as a dict
"""

from __future__ import annotations

import json
from typing import Any

import yaml

DATA_LICENCE = "see the dataset (MedMNIST v2 files: CC BY 4.0, DermaMNIST CC BY-NC 4.0)"
SHOWN_METRICS = ("accuracy", "balanced_accuracy", "f1", "auroc")
MEDZOO_CITATION = """@software{medzoo,
  title = {medzoo: a model zoo and benchmark suite for transfer learning in medical imaging},
  version = {%s},
}"""
MEDMNIST_CITATION = """@article{medmnistv2,
  title = {MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image classification},
  author = {Yang, Jiancheng and Shi, Rui and Wei, Donglai and others},
  journal = {Scientific Data}, volume = {10}, number = {1}, pages = {41}, year = {2023},
}"""


def _front_matter(config: dict[str, Any], record: dict[str, Any] | None) -> str:
    block = config["medzoo"]
    data = block["trained_on"]
    dataset = data.get("name") or data.get("dataset")
    meta = {
        "license": config["pretrained_cfg"].get("license", "cc-by-4.0"),
        "library_name": "medzoo",
        "tags": ["medzoo", "medical-imaging", "image-classification", "transfer-learning",
                 f"arch:{config['architecture']}"],
        "datasets": [str(dataset)],
        "metrics": [m for m in SHOWN_METRICS if record and m in record["metrics"].get("target_test", {})],
        "pipeline_tag": "image-classification",
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def _results_table(record: dict[str, Any]) -> str:
    rows = ["| split | " + " | ".join(SHOWN_METRICS) + " |", "|---|" + "---|" * len(SHOWN_METRICS)]
    for split, values in sorted(record["metrics"].items()):
        if not isinstance(values, dict) or "accuracy" not in values:
            continue
        cells = [f"{values[m]:.4f}" if isinstance(values.get(m), (int, float)) else "n/a" for m in SHOWN_METRICS]
        rows.append(f"| {split} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render_model_card(config: dict[str, Any], record: dict[str, Any] | None) -> str:
    """The README.md of a checkpoint folder."""
    block, cfg = config["medzoo"], config["pretrained_cfg"]
    data = block["trained_on"]
    labels = config["label_names"]
    name = block.get("name") or f"{block['backbone']['name']}-{data.get('domain')}"
    spec = {k: v for k, v in data.items() if k != "domain"}
    lines = [
        _front_matter(config, record),
        f"# {name}\n",
        f"A `{block['backbone']['name']}` network (timm architecture `{config['architecture']}`) trained by "
        f"medzoo {block['medzoo_version']} with `{block['algorithm']}` on "
        f"`{data.get('domain')}`. Load it with `zoo.create_backbone(\"medzoo:{name}\")` (features) or "
        f"`zoo.hub.load_pretrained(\"{name}\")` (classifier with its normalisation).\n",
        "## Training data and its licence\n",
        f"- dataset spec: `{json.dumps(spec, sort_keys=True)}`",
        f"- training labels used: {block['target_budget'] if block['target_budget'] != 1.0 else 'all'} of the "
        "training split (model selected on the validation split; the test split is never used for selection)",
        f"- data licence: {data.get('license') or DATA_LICENCE}",
        "- no data is redistributed with this checkpoint.\n",
        "## Preprocessing and normalisation\n",
        f"- input: {cfg['input_size'][0]} channel(s), {cfg['input_size'][1]}x{cfg['input_size'][2]} px, uint8 scaled "
        f"to [0, 1], then `(x - mean) / std` with mean `{cfg['mean']}` and std `{cfg['std']}`",
        "- medzoo applies this itself when the checkpoint is used (`medzoo:NAME` backbones carry it); other code must "
        "apply exactly this, or predictions are meaningless.\n",
        "## Label map\n",
        "| logit | label |", "|---|---|",
        *[f"| {i} | {label} |" for i, label in enumerate(labels)],
        "",
        "## Intended use and limits\n",
        "- **Research use only. Not for clinical use**: not a medical device, not validated for diagnosis, "
        "triage or any decision about a patient.",
        "- Trained on small, low-resolution (MedMNIST-style) images from one public source; expect it to fail "
        "under other scanners, sites, populations, resolutions and acquisition protocols.",
        "- Meant as a starting point for transfer-learning research (fine-tuning, linear probing) and for "
        "reproducing medzoo benchmarks.\n",
        "## Evaluation results\n",
    ]
    if record:
        sel = record.get("selection", {})
        lines += [
            f"From medzoo run `{record['run_id']}` (suite `{record['suite']['name']}` v{record['suite']['version']}, "
            f"seed {record['seed']}, one run). Protocol: model selection rule `{sel.get('rule')}` on "
            f"`{sel.get('metric', 'accuracy')}` (selected stage `{sel.get('stage')}`, epoch {sel.get('epoch')}); "
            "metrics on each split of the selected checkpoint:\n",
            _results_table(record), "",
        ]
    else:
        lines += ["No medzoo result record was given for this checkpoint.\n"]
    lines += [
        "## Recipe\n",
        "```json",
        json.dumps({"recipe": block.get("recipe"), "algorithm": block["algorithm"], "train": block["train"],
                    "seed": block["seed"], "backbone": block["backbone"]}, indent=2, sort_keys=True, default=str),
        "```",
        "",
        "Rebuild with `medzoo zoo build NAME` when the checkpoint is in the catalogue.\n",
        "## Files and sha256\n",
        f"- `model.safetensors`: sha256 `{block['weights_sha256']}`",
        "- `config.json`: timm-style config (`architecture`, `num_classes`, `label_names`, `pretrained_cfg`) plus the "
        "`medzoo` block that rebuilds the network (small-input stems are not plain timm architectures).\n",
        "## Citation\n",
        "```bibtex", MEDZOO_CITATION % block["medzoo_version"], MEDMNIST_CITATION, "```",
        "Also cite the source dataset of the training data.",
        "",
    ]
    return "\n".join(lines)
