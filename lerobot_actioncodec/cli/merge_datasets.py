"""actioncodec-merge-datasets: LeRobotDatasets of several embodiments as one, to co-train the ActionCodec tokenizer.

    actioncodec-merge-datasets --root outputs/merged --repo-id local/merged \
      --source metaworld_sawyer=local/metaworld_corpus@outputs/metaworld/dataset \
      --source synthetic_7d=local/synthetic_corpus@outputs/synthetic/dataset \
      --embodiment-registry configs/embodiments.json

then one lerobot-train run trains a tokenizer on both, each sample with its own embodiment:

    lerobot-train --policy.type=actioncodec_tokenizer --dataset.repo_id=local/merged --dataset.root=outputs/merged \
      --policy.embodiment_registry=outputs/merged/meta/actioncodec_embodiments.json \
      --policy.embodiment_column=observation.embodiment_index --policy.embodiment=metaworld_sawyer
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.merge import REGISTRY_FILE, MergeSource, merge_datasets
from ..embodiments import load_registry


def parse_source(text: str) -> MergeSource:
    name, _, rest = text.partition("=")
    repo_id, _, root = rest.partition("@")
    if not (name and repo_id and root):
        raise argparse.ArgumentTypeError(f"--source {text!r}: expected EMBODIMENT=REPO_ID@ROOT")
    return MergeSource(name, repo_id, Path(root))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, type=Path, help="the merged dataset's directory (must not exist)")
    parser.add_argument("--repo-id", default="local/merged_embodiments")
    parser.add_argument("--source", action="append", type=parse_source, required=True,
                        help="EMBODIMENT=REPO_ID@ROOT, once per source dataset")  # fmt: skip
    parser.add_argument(
        "--embodiment-registry",
        type=Path,
        default=None,
        help="known embodiments (e.g. configs/embodiments.json); others are read from their dataset",
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    registry = load_registry(args.embodiment_registry) if args.embodiment_registry else None
    merged = merge_datasets(args.source, args.root, args.repo_id, registry, progress=not args.no_progress)
    print(f"wrote {merged.meta.total_episodes} episodes, {merged.meta.total_frames} frames of "
          f"{len(args.source)} embodiments to {args.root}; registry: {args.root / REGISTRY_FILE}")  # fmt: skip


if __name__ == "__main__":
    main()
