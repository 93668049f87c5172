"""`python -m tf_learnact`: the command line (see tf_learnact.cli)."""

import sys

from tf_learnact.cli import main

sys.exit(main())
