"""``medzoo info NAME`` and ``medzoo list [KIND] [PATTERN]`` as a user runs them, checked against the registries,
the MedMNIST table, the built networks, the suites' own run expansion and the real data folder.

Every command runs through ``zoo.cli.main.main`` in one fresh interpreter (``helpers.cli.run_medzoo_many``);
rich wraps long values, so text is compared with whitespace (and table borders) flattened.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import assert_one_line_error, run_medzoo_many

ALGORITHMS = ["dann", "finetune", "m3sda", "adabn", "dann@w0", "linear_probe", "ccsa", "source_only", "shot", "tent",
              "mme"]
BACKBONES = ["resnet18_28", "simple_cnn", "timm/mobilenetv3_small_050"]
SUITE_NAMED_DANN = """suite: dann
version: 1
description: A suite that shares its name with an algorithm.
domains:
  a: {dataset: synthetic}
  b: {dataset: synthetic, seed: 1}
tasks:
  - {name: t, source: a, target: b, algorithms: [source_only]}
"""


def flat(text: str) -> str:
    """Whitespace and rich's table/panel borders collapsed, so wrapped values read as one line."""
    for border in "│┃":
        text = text.replace(border, " ")
    return " ".join(text.split())


def cells(stdout: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first`` (inside a card's panel)."""
    for line in stdout.splitlines():
        parts = [p.strip() for p in line.replace("┃", "│").split("│")]
        parts = [p for p in parts if p]
        if parts and parts[0] == first:
            return parts
    raise AssertionError(f"no row {first!r} in:\n{stdout}")


@pytest.fixture(scope="module")
def empty_data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("no-data")


@pytest.fixture(scope="module")
def out(data_dir, empty_data, tmp_path_factory) -> dict[str, object]:
    """Every command of this file, run once, by a name."""
    suites = tmp_path_factory.mktemp("suites")
    (suites / "dann.yaml").write_text(SUITE_NAMED_DANN)
    data = ["--data-dir", str(data_dir)]
    argvs = {
        "breast": ["info", "breastmnist", *data],
        "breast64": ["info", "breastmnist", "--size", "64", *data],
        "breast_64": ["info", "breastmnist_64", *data],
        "breast-nodata": ["info", "breastmnist", "--data-dir", str(empty_data)],
        "pneumonia": ["info", "pneumoniamnist", *data],
        "npz": ["info", "npz", *data],
        **{f"algo:{name}": ["info", name] for name in ALGORITHMS},
        **{f"bb:{name}": ["info", name] for name in BACKBONES},
        "bb:gray": ["info", "timm/mobilenetv3_small_050", "--in-chans", "1"],
        "timm": ["info", "timm"],
        "quick": ["info", "quick", *data],
        "progressive": ["info", "progressive", *data],
        "source-free": ["info", "source-free", *data],
        "quick-nodata": ["info", "quick", "--data-dir", str(empty_data)],
        "unknown": ["info", "dnn"],
        "unknown-timm": ["info", "timm/resnet81"],
        "size-not-dataset": ["info", "dann", "--size", "64"],
        "list-mnist": ["list", "*mnist*", *data],
        "list-d": ["list", "algorithms", "d*"],
        "list-dann": ["list", "dann"],
        "list-nothing": ["list", "zzz*"],
        "list-not-a-name": ["list", "dnn"],
        "list-kind-typo": ["list", "algoritms"],
        "list-timm": ["list", "timm/mobilenetv3_small_0*"],
        "list-datasets": ["list", "datasets", *data],
        "list-suites": ["list", "suites", *data],
        "list-suites-nodata": ["list", "suites", "--data-dir", str(empty_data)],
        "list-describe": ["list", "algorithms", "--describe"],
        "both": ["info", "dann"],
        "both-suite": ["info", "dann", "--kind", "suite"],
    }
    procs = run_medzoo_many(list(argvs.values()), cwd=tmp_path_factory.mktemp("cwd"), timeout=600,
                            env={"MEDZOO_SUITE_PATH": str(suites)})
    results = dict(zip(argvs, procs))
    # "both" runs with the extra suite named dann; the algorithm-only card is checked in "algo:dann"
    return results


def ok(proc) -> str:
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, f"{proc.args}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


# -- datasets ------------------------------------------------------------------------------------------
def _label_counts(path: Path, k: int) -> dict[str, list[int]]:
    with np.load(path) as arrays:
        return {s: np.bincount(arrays[f"{s}_labels"].ravel(), minlength=k).tolist() for s in ("train", "val", "test")}


def test_info_breastmnist_prints_official_splits_citation_and_file_state(out, data_dir):
    from zoo.datasets.medmnist import MEDMNIST_CITATION, medmnist_file

    stdout = ok(out["breast"])
    text = flat(stdout)
    meta = medmnist_file("breastmnist", 28)
    assert (meta.n["train"], meta.n["val"], meta.n["test"]) == (546, 78, 156)
    assert "train 546, val 78, test 156" in text
    assert cells(stdout, "total (official)")[1:] == ["546", "78", "156"]
    assert flat(MEDMNIST_CITATION) in text and flat(meta.source_citation) in text
    assert "CC BY 4.0" in text and meta.md5 in text and meta.url in text
    assert "'malignant'" in text and "'normal, benign'" in text
    path = data_dir / "medmnist" / "breastmnist.npz"
    assert str(path) in text
    if path.is_file():
        assert "status present, md5 verified" in text
        counts = _label_counts(path, 2)
        assert cells(stdout, "0 malignant")[1:] == [str(counts[s][0]) for s in ("train", "val", "test")]
        assert cells(stdout, "1 normal, benign")[1:] == [str(counts[s][1]) for s in ("train", "val", "test")]
    else:
        assert "status missing" in text


def test_info_counts_each_class_from_the_file(out, data_dir):
    stdout = ok(out["pneumonia"])
    counts = _label_counts(data_dir / "medmnist" / "pneumoniamnist.npz", 2)
    for i, name in enumerate(["normal", "pneumonia"]):
        assert cells(stdout, f"{i} {name}")[1:] == [str(counts[s][i]) for s in ("train", "val", "test")]
    assert cells(stdout, "total in file")[1:] == cells(stdout, "total (official)")[1:] == ["4708", "524", "624"]
    assert "status present, md5 verified" in flat(stdout)


def test_info_without_the_file_says_missing_and_how_to_get_it(out, empty_data):
    text = flat(ok(out["breast-nodata"]))
    assert f"{empty_data / 'medmnist' / 'breastmnist.npz'}" in text
    assert "status missing; get it with: medzoo download breastmnist" in text
    assert "train 546, val 78, test 156" in text  # the official sizes need no file


@pytest.mark.parametrize("key", ["breast64", "breast_64"])
def test_a_medmnist_size_is_picked_with_size_or_the_domain_name(out, key):
    from zoo.datasets.medmnist import medmnist_file

    meta = medmnist_file("breastmnist", 64)
    text = flat(ok(out[key]))
    assert "breastmnist (size 64)" in text and meta.file in text and meta.md5 in text
    assert "sizes 28 px" in text and "64 px" in text and "224 px" in text


def test_info_on_a_user_data_factory_shows_its_options(out):
    import inspect

    from zoo.datasets import DATASETS

    stdout = ok(out["npz"])
    for option, param in inspect.signature(DATASETS.get("npz")).parameters.items():
        default = "(required)" if param.default is inspect.Parameter.empty else repr(param.default)
        assert cells(stdout, option)[1] == default
    assert "Accepted layouts" in flat(stdout)


# -- algorithms ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALGORITHMS)
def test_info_algorithm_shows_paper_and_every_hyperparameter_default(out, name):
    from zoo.algorithms import ALGORITHMS as REGISTRY
    from zoo.algorithms.variants import base_algorithm, variant_hparams

    cls = REGISTRY.get(base_algorithm(name))
    stdout = ok(out[f"algo:{name}"])
    text = flat(stdout)
    assert cls.PAPER and f"paper {flat(cls.PAPER)}" in text
    fixed = variant_hparams(name, cls)
    for hp_name, hp in cls.HPARAMS.items():
        row = cells(stdout, hp_name)
        assert row[2] == repr(fixed.get(hp_name, hp.default)), row


def test_info_algorithm_settings_follow_its_stages(out):
    dann, finetune, m3sda = (flat(ok(out[f"algo:{n}"])) for n in ("dann", "finetune", "m3sda"))
    assert "stages, target_budget 0 adapt (labeled source + unlabeled target)" in dann
    assert "weight-0 twin dann@w0 (weight=0" in dann
    assert "log-uniform [0.01, 10]" in dann  # the weight's declared search space
    assert "stages, target_budget 0 cannot run: source_then_target needs labeled target data" in finetune
    assert "source (labeled source) -> target (labeled target budget, lr x0.1)" in finetune
    assert "several sources yes, per source" in m3sda
    assert "adapts before evaluating each domain" in flat(ok(out["algo:adabn"]))
    assert "head only, on cached features" in flat(ok(out["algo:linear_probe"]))
    assert "variant weight=0.0 (the twin of dann)" in flat(ok(out["algo:dann@w0"]))


def test_info_algorithm_names_the_task_settings_it_runs_in(out):
    from zoo.algorithms import ALGORITHMS as REGISTRY

    shot, tent, mme, dann = (flat(ok(out[f"algo:{n}"])) for n in ("shot", "tent", "mme", "dann"))
    assert "paper Liang, Hu & Feng, Do We Really Need to Access the Source Data?" in shot
    assert "settings transfer, source_free (a task of another setting refuses it" in shot
    assert REGISTRY.get("shot").SETTINGS == ("transfer", "source_free")
    # in a source-free task the labeled-source stage is the shipped source model's; SHOT adapts on target images
    assert "source_free task starts from the shipped source model, then: adapt (unlabeled target)" in shot
    assert "stages, target_budget 0 source (labeled source) -> adapt (unlabeled target)" in shot
    assert "paper Wang, Shelhamer, Liu, Olshausen & Darrell, Tent" in tent
    assert "settings transfer, source_free, semi_supervised (" in tent
    assert "then: no training stage (the source model is evaluated)" in tent
    assert "adapts before evaluating each domain" in tent
    assert "settings transfer, semi_supervised (" in mme
    assert "adapt (labeled source + labeled target budget + unlabeled target)" in mme
    assert "settings transfer, semi_supervised (" in dann and "source_free task" not in dann


# -- backbones -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key, name, kwargs", [
    ("bb:resnet18_28", "resnet18_28", {}),
    ("bb:simple_cnn", "simple_cnn", {}),
    ("bb:timm/mobilenetv3_small_050", "timm/mobilenetv3_small_050", {}),
    ("bb:gray", "timm/mobilenetv3_small_050", {"in_chans": 1}),
])
def test_info_backbone_parameter_count_matches_the_built_model(out, key, name, kwargs):
    from zoo.backbones import create_backbone

    model = create_backbone(name, pretrained=False, **kwargs)
    stdout = ok(out[key])
    text = flat(stdout)
    assert f"parameters {sum(p.numel() for p in model.parameters()):,} " in text
    assert f"features {model.num_features} " in text
    c, h, w = model.config.input_size
    assert f"input {c} x {h} x {w}" in text
    assert "mean " + ", ".join(f"{v:.4g}" for v in model.config.mean) in text


def test_info_timm_backbone_names_its_pretrained_weights_without_downloading(out):
    import timm

    text = flat(ok(out["bb:resnet18_28"]))
    default = timm.models.get_pretrained_cfg("resnet18")
    assert f"pretrained weights timm:resnet18.{default.tag}" in text
    assert "weights random init (built here with pretrained=False; nothing downloaded)" in text
    assert "28 px stem" in text
    family = flat(ok(out["timm"]))
    assert "timm/<arch>" in family and "small_input" in family


# -- suites --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suite_name", ["quick", "progressive"])
def test_info_suite_run_counts_equal_the_suite_expansion(out, suite_name):
    import yaml

    from zoo.bench.suite import load_suite

    stdout = ok(out[suite_name])
    suite = load_suite(suite_name)
    runs = suite.runs()
    assert cells(stdout, "(none)")[-1] == str(len(runs))
    assert f"{len(runs)} runs in all" in flat(stdout)
    presets = yaml.safe_load(suite.path.read_text())["presets"]
    assert presets
    for preset in presets:
        assert cells(stdout, preset)[-1] == str(len(load_suite(suite_name, preset=preset).runs())), preset
    for task in suite.tasks:
        row = cells(stdout, task.name)
        assert str(sum(r.task.name == task.name for r in runs)) in row, row
        chain = " -> ".join(step["domain"] for step in task.pretrain)
        if chain:
            assert chain in row, row
    assert flat(suite.description) in flat(stdout)


def test_info_suite_shows_each_task_setting(out):
    from zoo.bench.suite import load_suite

    stdout = ok(out["source-free"])
    for task in load_suite("source-free").tasks:
        row = cells(stdout, task.name)
        assert row[1] == task.setting == "source_free", row
        assert row[2].startswith("(none) ->"), row  # no source: the source model comes from the pretrain step
    quick = ok(out["quick"])
    assert all(cells(quick, task.name)[1] == "transfer" for task in load_suite("quick").tasks)


def test_info_suite_says_which_files_are_present(out, data_dir, empty_data):
    here = flat(ok(out["quick"]))
    assert "medmnist/pneumoniamnist.npz" in here and "every file is present" in here
    assert "citation Yang et al., MedMNIST v2" in here
    gone = flat(ok(out["quick-nodata"]))
    assert "missing: medzoo download pneumoniamnist" in gone
    progressive = ok(out["progressive"])
    for task, needs in [("path-organ-breast", ["pathmnist.npz", "organamnist.npz"]), ("xray-breast", [])]:
        missing = [n for n in needs if not (data_dir / "medmnist" / n).is_file()]
        row = " ".join(cells(progressive, task))
        assert ("missing" in row) == bool(missing), row


# -- names, kinds, errors ----------------------------------------------------------------------------
def test_unknown_name_is_one_line_with_did_you_mean(out):
    # (this file's extra suite is also named dann: a name of two kinds is offered with both)
    assert_one_line_error(out["unknown"], "unknown name 'dnn'", "did you mean 'dann' (algorithm, suite)")
    assert_one_line_error(out["unknown-timm"], "unknown timm model 'resnet81'", "did you mean")
    assert_one_line_error(out["size-not-dataset"], "--size", "not a dataset")


def test_a_name_in_two_kinds_shows_both_and_kind_picks_one(out):
    both = flat(ok(out["both"]))
    assert "'dann' names 2 entries: algorithm, suite" in both
    assert "Ganin et al." in both and "A suite that shares its name with an algorithm." in both
    one = flat(ok(out["both-suite"]))
    assert "A suite that shares its name" in one and "Ganin et al." not in one


# -- list ------------------------------------------------------------------------------------------
def _names(stdout: str) -> list[str]:
    return [line.split("│")[2].strip() for line in stdout.splitlines()
            if line.count("│") >= 5 and line.split("│")[2].strip()]


def test_list_with_a_pattern_shows_only_matching_names(out):
    from zoo.registries import KINDS, registry_for

    expected = sorted(n for kind in KINDS for n in registry_for(kind).names(include_broken=True)
                      if fnmatch.fnmatchcase(n, "*mnist*"))
    assert len(expected) > 12
    assert sorted(_names(ok(out["list-mnist"]))) == expected
    assert _names(ok(out["list-d"])) == sorted(n for n in registry_for("algorithms").names() if n.startswith("d"))


def test_list_of_a_name_points_to_info(out):
    stdout = ok(out["list-dann"])
    kinds = [line.split("│")[1].strip() for line in stdout.splitlines() if line.count("│") >= 5]
    assert _names(stdout) == ["dann", "dann"] and kinds == ["algorithm", "suite"]  # this file's suite named dann
    assert "medzoo info dann" in stdout
    assert "no backbone or algorithm or dataset or suite name matches 'zzz*'" in flat(ok(out["list-nothing"]))
    assert_one_line_error(out["list-not-a-name"], "'dnn' is neither a kind nor a name", "did you mean 'dann'")
    assert_one_line_error(out["list-kind-typo"], "unknown kind 'algoritms'", "did you mean 'algorithms'")


def test_list_timm_pattern_lists_timm_models(out):
    import timm

    assert _names(ok(out["list-timm"])) == [f"timm/{a}" for a in timm.list_models("mobilenetv3_small_0*")]


def test_list_describes_entries_and_their_data(out, data_dir, empty_data):
    from zoo.algorithms import ALGORITHMS as REGISTRY
    from zoo.cli.info_render import first_line
    from zoo.datasets.medmnist import FLAGS, medmnist_file

    rows = {line.split("│")[2].strip(): flat(line) for line in ok(out["list-datasets"]).splitlines()
            if line.count("│") >= 6}
    for flag in FLAGS:
        present = (data_dir / "medmnist" / medmnist_file(flag, 28).file).is_file()
        assert ("28 px present" in rows[flag]) == present, rows[flag]
        assert ("not downloaded" in rows[flag]) == (not present), rows[flag]
        assert f"MedMNIST v2 {medmnist_file(flag, 28).modality}" in rows[flag]
    describe = flat(ok(out["list-describe"]))
    for name in REGISTRY.names():
        assert flat(first_line(REGISTRY.get(name))) in describe, name
    assert "zoo.algorithms" not in describe  # no import targets any more
    suites = {line.split("│")[2].strip(): line for line in ok(out["list-suites"]).splitlines() if "│" in line}
    assert "present" in suites["quick"]
    assert "missing" in {line.split("│")[2].strip(): line for line in ok(out["list-suites-nodata"]).splitlines()
                         if "│" in line}["quick"]
