import sys

from rerank_fix.cli import main

sys.exit(main())
