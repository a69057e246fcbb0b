"""`python -m posbridge`."""

from posbridge.cli import main

main()
