"""plugin-builder: build Go plugins and the hosts that load them, and prove they load."""

import os
import sys

__version__ = "0.1.0"

if "invoke" in sys.modules and not os.environ.get("PYTHONDONTWRITEBYTECODE"):
    # invoke's command line turns bytecode writing off before it loads a tasks.py (its
    # --write-pyc flag); an editable install of the tool would then compile every module
    # again on every command (50-70 ms). The tool's own modules keep theirs.
    sys.dont_write_bytecode = False
