"""``medzoo info`` for algorithms and backbones: what the class and the built network say about themselves.

An algorithm's card reads its class: ``PAPER``, the docstrings, ``HPARAMS`` (default, type, the space sweeps
draw from, help), the stages it declares with and without a target label budget (probed as the suite
resolver does, without building a model), and what it supports (a source, several sources, target labels,
an evaluation-time hook, a weight-0 twin). A backbone's card builds the network with ``pretrained=False``
(nothing is downloaded) to count its parameters and read its ``BackboneConfig``; for a timm model it adds
the pretrained weights timm would load (tag, Hub repo, licence, whether they are in the local cache).

Usage::

    render_card(algorithm_card("dann"))
    render_card(backbone_card("timm/resnet18", in_chans=1))
"""

from __future__ import annotations

import inspect
from typing import Any

from zoo.cli.info_render import Card, CardTable, doc_text, first_paragraph, reflow
from zoo.errors import ConfigError, MedzooError

STAGE_DATA = {
    "source": "labeled source",
    "target_labeled": "labeled target budget",
    "source+target_unlabeled": "labeled source + unlabeled target",
    "source+target_labeled": "labeled source + labeled target budget",
    "target_unlabeled": "unlabeled target",
    "source+target_semi": "labeled source + labeled target budget + unlabeled target",
}
EXAMPLE_BUDGET = 0.1  # the label budget the "with target labels" stages are probed at


# -- algorithms ---------------------------------------------------------------------------------------
def format_valid(hp) -> str:
    """The values an ``HParam`` accepts beyond its type: ``>= 0``, ``in (0, 1)``, ``one of: batch, none``."""
    if hp.choices is not None:
        return "one of: " + ", ".join(str(v) for v in hp.choices)
    bounds = hp.bounds_text()
    if bounds and isinstance(hp.default, list):
        return f"each {bounds}"
    return bounds or "any"


def format_space(space: Any) -> str:
    """An ``HParam.space`` in words: ``("log", 0.01, 10.0)`` -> ``log-uniform [0.01, 10]``.

    Usage::

        format_space(["batch", "none"])      # 'one of: batch, none'
    """
    if space is None:
        return "not searched"
    if isinstance(space, tuple) and len(space) == 3:
        kind, lo, hi = space
        word = {"log": "log-uniform", "uniform": "uniform", "int": "integer"}.get(kind, str(kind))
        return f"{word} [{lo:g}, {hi:g}]" if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) \
            else f"{word} [{lo}, {hi}]"
    if isinstance(space, list):
        return "one of: " + ", ".join(str(v) for v in space)
    return str(space)


def _stage_text(stage) -> str:
    extras = []
    if stage.features:
        extras.append("head only, on cached features")
    if stage.epochs:
        extras.append(f"{stage.epochs} epochs")
    if stage.lr_mult != 1.0:
        extras.append(f"lr x{stage.lr_mult:g}")
    more = f", {', '.join(extras)}" if extras else ""
    return f"{stage.name} ({STAGE_DATA.get(stage.data, stage.data)}{more})"


def probe_stages(cls, hparams: dict[str, Any], budget: float) -> tuple[list, str | None]:
    """``(stages, None)`` of ``cls`` at ``budget``, or ``([], why not)``: the resolver's probe, no model built."""
    from zoo.algorithms.base import stages_of

    try:
        return stages_of(cls, hparams, budget), None
    except MedzooError as exc:
        return [], str(exc)


def _task_settings(cls, unsup: list) -> list[tuple[str, str]]:
    """The task settings ``cls`` runs in (``zoo.task_settings`` order), and what it trains in a source_free task."""
    from zoo.task_settings import TASK_SETTINGS

    declared = tuple(getattr(cls, "SETTINGS", ("transfer",)))
    names = [s for s in TASK_SETTINGS if s in declared] + [s for s in declared if s not in TASK_SETTINGS]
    rows = [("settings", ", ".join(names) + " (a task of another setting refuses it before training)")]
    if "source_free" in declared:
        kept = list(unsup)
        while kept and kept[0].data == "source":  # the shipped source model's stages (zoo.bench.resolve)
            kept = kept[1:]
        rows.append(("source_free task", "starts from the shipped source model, then: "
                                         + (" -> ".join(map(_stage_text, kept)) if kept else
                                            "no training stage (the source model is evaluated)")))
    return rows


def _settings(name: str, cls, hparams: dict[str, Any]) -> list[tuple[str, str]]:
    from zoo.algorithms.base import Algorithm

    unsup, unsup_err = probe_stages(cls, hparams, 0.0)
    budget, budget_err = probe_stages(cls, hparams, EXAMPLE_BUDGET)
    rows = [
        *_task_settings(cls, unsup),
        ("stages, target_budget 0", " -> ".join(map(_stage_text, unsup)) if unsup else f"cannot run: {unsup_err}"),
        (f"stages, target_budget {EXAMPLE_BUDGET:g}",
         " -> ".join(map(_stage_text, budget)) if budget else f"cannot run: {budget_err}"),
    ]
    stages = unsup + budget
    uses_source = any(s.data.startswith("source") for s in stages)
    uses_labels = any("target_labeled" in s.data for s in budget)
    uses_unlabeled = any("target_unlabeled" in s.data for s in stages)
    rows.append(("source domain", "needed: its stages train on labeled source data" if uses_source else
                 "not needed: it trains on the target budget (a task may start from pretrain steps or init)"))
    if uses_source:
        several = ("yes, per source: source batches carry each sample's domain index (SOURCE_DOMAINS)"
                   if getattr(cls, "SOURCE_DOMAINS", False) else "yes, concatenated into one source")
        rows.append(("several sources", several))
    rows.append(("target labels", "trains on the labeled target budget" if uses_labels else
                 "never trained on (unsupervised); a budget's labels serve only model selection (target_val)"))
    if uses_unlabeled:
        rows.append(("unlabeled target", "trains on the target's training images without labels"))
    if getattr(cls, "evaluation_state", None) is not Algorithm.evaluation_state:
        rows.append(("evaluation", "adapts before evaluating each domain (evaluation_state hook), then restores"))
    weight = getattr(cls, "ALIGNMENT_WEIGHT", None)
    if weight and "@" not in name:
        rows.append(("weight-0 twin", f"{name}@w0 ({weight}=0, same architecture and batches); "
                                      "a suite runs it with controls: [weight_zero]"))
    return rows


def algorithm_card(name: str) -> Card:
    """The card of algorithm ``name`` (a variant such as ``dann@w0`` shows the values it fixes; an old name, such
    as ``finetune``, the renamed algorithm's card, titled ``source_then_target (formerly finetune)``).

    Usage::

        card = algorithm_card("dann"); dict(card.fields)["paper"]
    """
    from zoo.algorithms import ALGORITHMS
    from zoo.algorithms.base import resolve_hparams
    from zoo.algorithms.variants import base_algorithm, variant_hparams
    from zoo.registry import former_names

    base = ALGORITHMS.canonical(base_algorithm(name))  # an old name: the current one (zoo/registry.py:ALIASES)
    name = base + name[len(base_algorithm(name)):]
    entry = ALGORITHMS.entry(base)
    cls = ALGORITHMS.get(base)
    fixed = variant_hparams(name, cls)
    hparams = resolve_hparams(cls.HPARAMS, fixed, name)
    module = inspect.getmodule(cls)
    summary = "\n\n".join(filter(None, [first_paragraph(doc_text(module)) if module else "", reflow(doc_text(cls))]))
    fields = [("paper", getattr(cls, "PAPER", "") or "(none declared)"),
              ("class", f"{cls.__module__}:{cls.__qualname__}"), ("from", entry.source)]
    if fixed:
        fields.append(("variant", ", ".join(f"{k}={v!r}" for k, v in fixed.items()) + f" (the twin of {base})"))
    fields.extend(_settings(name, cls, hparams))
    rows = [[hp_name, type(hp.default).__name__ if hp.default is not None else "any",
             repr(hparams[hp_name]), format_space(hp.space), format_valid(hp), hp.help]
            for hp_name, hp in cls.HPARAMS.items()]
    former = former_names("algorithm", base)
    card = Card("algorithm", f"{name} (formerly {', '.join(former)})" if former else name, summary=summary,
                fields=fields)
    if rows:
        card.tables.append(CardTable(
            "hyperparameters", ["name", "type", "default", "search space", "valid", "meaning"], rows,
            note="set in a suite: hparams: {" + name + ": {NAME: value}}; a suite's sweep: draws from the search "
                 "spaces (sweep.hparams_space narrows them); values outside 'valid' are refused before training"))
    else:
        card.notes.append("no hyperparameters")
    card.notes.append(f"in a suite task: algorithms: [{name}]")
    return card


# -- backbones ----------------------------------------------------------------------------------------
def _options(factory, skip: int = 0) -> list[list[str]]:
    """``[name, default, type]`` of each parameter of ``factory`` (after the first ``skip`` positional ones)."""
    try:
        params = list(inspect.signature(factory).parameters.values())[skip:]
    except (TypeError, ValueError):
        return []
    rows = []
    for p in params:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            rows.append([f"**{p.name}", "", "other keywords, passed on"])
            continue
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        default = "(required)" if p.default is inspect.Parameter.empty else repr(p.default)
        annotation = "" if p.annotation is inspect.Parameter.empty else str(p.annotation).replace("'", "")
        rows.append([p.name, default, annotation])
    return rows


def option_table(factory, skip: int = 0, title: str = "options") -> CardTable | None:
    """The options table of a factory (what a suite may set), or None when it takes none."""
    rows = _options(factory, skip)
    return CardTable(title, ["option", "default", "type"], rows) if rows else None


def _is_family(factory) -> bool:
    """True for a family factory (``timm``): its first parameter, the architecture, has no default."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].default is inspect.Parameter.empty and \
        params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def _timm_weights(model) -> list[tuple[str, str]]:
    """What ``pretrained=True`` would load for a timm model: tag, Hub repo, licence, other tags, cache state."""
    import timm

    cfg = dict(getattr(model, "pretrained_cfg", {}) or {})
    arch = cfg.get("architecture") or ""
    tagged = ".".join(filter(None, (arch, cfg.get("tag"))))
    tags = timm.list_pretrained(f"{arch}.*") if arch else []
    if not tags:
        return [("pretrained weights", f"none in timm for {arch or 'this model'}: pretrained=False only")]
    rows = [("pretrained weights", f"timm:{tagged} (pretrained=true; the default tag)")]
    repo = cfg.get("hf_hub_id")
    if repo:
        rows.append(("weights from", f"hf-hub:{repo}" + _cache_state(repo)))
    if cfg.get("license"):
        rows.append(("weights licence", str(cfg["license"])))
    others = [t for t in tags if t != tagged]
    if others:
        shown = ", ".join(others[:8]) + (f", ... ({len(others)} in all)" if len(others) > 8 else "")
        rows.append(("other tags", shown))
    return rows


def _cache_state(repo: str) -> str:
    try:
        from huggingface_hub import try_to_load_from_cache

        for filename in ("model.safetensors", "pytorch_model.bin"):
            found = try_to_load_from_cache(repo, filename)
            if isinstance(found, str):
                return " (in the local Hugging Face cache)"
        return " (not in the local cache: downloaded on first use)"
    except Exception:  # noqa: BLE001 - the cache state is a nicety; never fail the card on it
        return ""


def backbone_card(name: str, in_chans: int | None = None) -> Card:
    """The card of backbone ``name`` (``simple_cnn``, ``resnet18_28``, ``timm/<arch>``, ``timm``), built with
    ``pretrained=False``.

    Usage::

        card = backbone_card("resnet18_28"); dict(card.fields)["parameters"]    # '11,168,832'
    """
    from zoo.backbones import BACKBONES, create_backbone, declares_option, is_hub_name

    if is_hub_name(name):
        raise ConfigError(f"'{name}' is a Hub checkpoint, not a registered backbone: `medzoo zoo list` shows the "
                          f"catalogue and `medzoo pull {name}` fetches it")
    family, sep, arch = name.partition("/")
    entry = BACKBONES.entry(family if sep else name)
    factory = BACKBONES.get(family if sep else name)
    card = Card("backbone", name, summary=reflow(doc_text(factory)))
    card.fields.append(("from", entry.source))
    if not sep and _is_family(factory):
        card.fields.append(("names", f"{name}/<arch>, e.g. {name}/resnet18 (any model of the family)"))
        card.tables.append(option_table(factory, skip=1) or CardTable("options", ["option"], []))
        card.notes.append(f"medzoo list '{name}/*resnet*'  # the family's models matching a pattern")
        card.notes.append(f"medzoo info {name}/resnet18  # one model: parameters, input, weights")
        return card
    if in_chans is not None and in_chans < 1:
        raise ConfigError(f"--in-chans must be a positive integer, got {in_chans}")
    kwargs: dict[str, Any] = {"in_chans": in_chans} if in_chans is not None else {}
    if declares_option(name, "pretrained"):
        kwargs["pretrained"] = False
    model = create_backbone(name, **kwargs)
    config = model.config
    count = sum(p.numel() for p in model.parameters())
    c, h, w = config.input_size
    card.fields += [
        ("parameters", f"{count:,} (without a head; at in_chans={config.in_chans})"),
        ("features", f"{model.num_features} (what the algorithm's head reads)"),
        ("input", f"{c} x {h} x {w} (C x H x W)" + ("; fixed size" if config.extra.get("fixed_input_size") else
                                                    "; other sizes work (pooled features)")),
        ("channels", f"in_chans={config.in_chans} here; set in_chans (or the suite's channels) for others"),
        ("normalisation", "mean " + ", ".join(f"{v:.4g}" for v in config.mean) +
         "; std " + ", ".join(f"{v:.4g}" for v in config.std)),
        ("blocks", f"{len(model.blocks())} (what last_k / gradual_unfreeze / llrd count)"),
        ("weights", f"{config.weights} (built here with pretrained=False; nothing downloaded)"),
    ]
    if config.extra.get("timm_arch"):
        card.fields.append(("timm model", str(config.extra["timm_arch"]) +
                            (" with the 28 px stem (3x3 stride-1 conv, no max-pool)" if config.extra.get("small_input")
                             else "")))
        card.fields += _timm_weights(model.model)
    else:
        card.fields.append(("licence", config.license))
    table = option_table(factory, skip=1 if sep else 0)
    if table:
        card.tables.append(table)
    card.notes.append(f"in a suite: backbone: {{name: {name}}}  (or the override backbone.name={name})")
    return card
