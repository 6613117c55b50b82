"""Command-line front end: argument declarations (the single source for man pages and completions) and thin
command functions that call the core and the renderers."""
