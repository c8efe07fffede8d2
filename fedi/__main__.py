"""`python -m fedi`: the same program as the `fedi` console script, composed in web/cli.py.
Nothing imports this launcher, so the application's modules still know no web page."""

from web.cli import main

raise SystemExit(main())
