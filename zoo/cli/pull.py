"""``medzoo pull NAME[@REV]``: download a checkpoint into the Hugging Face cache, verify it, describe it.

``NAME`` is a catalogue name (``medzoo zoo list``) or a Hub repo ``org/name``. Safetensors only unless
``--trust-pickle``; the weights' sha256 is checked against the catalogue. With ``HF_HUB_OFFLINE=1`` the
cache answers.

Usage::

    medzoo pull resnet18_28-pneumoniamnist
    medzoo pull my-lab/my-checkpoint@3f9c2a1 --endpoint http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  medzoo pull resnet18_28-pneumoniamnist          a catalogue checkpoint (sha256-checked)
  medzoo pull resnet18_28-pneumoniamnist@main     pinned to a branch, tag or commit sha
  medzoo pull my-lab/resnet18_28-xray@0d1e2f3     any Hub repo written by `medzoo push`
  HF_HUB_OFFLINE=1 medzoo pull resnet18_28-pneumoniamnist   served from the cache only
  medzoo pull org/timm-model --trust-pickle       allow a pytorch_model.bin (read with weights_only=True)
then: backbone: {name: "medzoo:resnet18_28-pneumoniamnist"} in a suite, or
      zoo.hub.load_pretrained("resnet18_28-pneumoniamnist").predict_images(uint8_images)
"""


def run(args: argparse.Namespace) -> int:
    from zoo.cli.common import print_fields
    from zoo.hub.pull import pull

    pulled = pull(args.name, endpoint=args.endpoint, cache_dir=args.cache_dir, trust_pickle=args.trust_pickle,
                  catalogue=args.catalogue)
    config = json.loads((pulled.folder / "config.json").read_text(encoding="utf-8"))
    cfg = config.get("pretrained_cfg") or {}
    print_fields(f"pulled {pulled.name}", [
        ("repo", f"{pulled.endpoint}/{pulled.repo}"),
        ("revision", f"{pulled.revision} -> commit {pulled.commit}"),
        ("weights", pulled.weights),
        ("sha256", f"{pulled.sha256} (checked against {pulled.verified_against})"),
        ("folder", str(pulled.folder)),
        ("architecture", str(config.get("architecture"))),
        ("input", f"{cfg.get('input_size')} mean {cfg.get('mean')} std {cfg.get('std')}"),
        ("labels", ", ".join(config.get("label_names") or []) or "-"),
        ("licence", str(cfg.get("license") or (pulled.entry.licence if pulled.entry else "unknown"))),
    ])
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from zoo.cli.hub_options import add_cache_dir, add_catalogue, add_endpoint

    parser = sub.add_parser("pull", help="download and verify a checkpoint from the Hugging Face Hub",
                            description="Download a checkpoint (catalogue name or org/name, @REV to pin) into the "
                                        "Hugging Face cache, verify its sha256 and show its inputs and labels.",
                            epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="catalogue name or Hub repo org/name, optionally @REVISION")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow a PyTorch pickle checkpoint (.bin/.pth), loaded with torch.load(weights_only=True)")
    add_endpoint(parser)
    add_cache_dir(parser)
    add_catalogue(parser)
    parser.set_defaults(func=run)
