"""`python -m sagsflow.cli`."""

from sagsflow.cli.app import main

main()
