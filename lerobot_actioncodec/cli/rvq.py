"""actioncodec-rvq: RVQ post-training checkpoints.

  actioncodec-rvq prepare --from VQ_DIR --out DIR [--levels 3]
      then: lerobot-train --policy.path=DIR --dataset.repo_id=... --dataset.root=... --output_dir=...
  actioncodec-rvq export-vq --from RVQ_DIR --out DIR
      single-level tokenizer (same tokens as stage 1) with the post-trained decoder

Directories are pretrained_model/ folders of lerobot-train checkpoints.
"""

from __future__ import annotations

import argparse

from ..rvq_post_training import export_vq_checkpoint, prepare_rvq_checkpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="VQ checkpoint -> frozen-encoder RVQ checkpoint to post-train")
    prepare.add_argument("--from", dest="source", required=True)
    prepare.add_argument("--out", required=True)
    prepare.add_argument("--levels", type=int, default=3, help="total depth including level 0 (paper: 3)")
    export = commands.add_parser("export-vq", help="post-trained RVQ checkpoint -> VQ tokenizer")
    export.add_argument("--from", dest="source", required=True)
    export.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare_rvq_checkpoint(args.source, args.out, args.levels)
    else:
        export_vq_checkpoint(args.source, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
