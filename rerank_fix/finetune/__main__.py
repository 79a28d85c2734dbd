"""``python -m rerank_fix.finetune CONFIG [--resume] [--dry-run]``, also the entry point of
``accelerate launch -m rerank_fix.finetune CONFIG`` for multi-GPU (or multi-process CPU) training."""
from __future__ import annotations

import sys

from rerank_fix.cli import main

if __name__ == "__main__":
    sys.exit(main(["finetune", *sys.argv[1:]]))
