"""`python -m engine` is the `codeact` command."""

from engine.cli import main

main()
