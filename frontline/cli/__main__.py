"""``python -m frontline.cli``."""

from frontline.cli import main

main()
