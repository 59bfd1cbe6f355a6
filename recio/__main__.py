"""`python -m recio`: the same as the `recio` command."""

from recio.cli import main

main()
