"""The web layer: Starlette routes (federation endpoints and pages), templates, static files."""
