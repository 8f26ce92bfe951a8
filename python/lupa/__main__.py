"""``python -m lupa``: run Lua scripts and an interactive Lua prompt with lupa.

``python -m lupa --help`` lists the options; see ``lupa._cli`` and ``docs/guide.md``.
"""

import sys

from lupa._cli import main

if __name__ == "__main__":
    sys.exit(main())
