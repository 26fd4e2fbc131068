"""Sphinx configuration for the collectstupid documentation (MyST Markdown, furo theme)."""

project = "collectstupid"
author = "collectstupid contributors"
copyright = "collectstupid contributors"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# GitHub-style anchors for headings, so `page.md#some-heading` links work both on GitHub
# and in the built site.
myst_heading_anchors = 3

html_theme = "furo"
html_title = "collectstupid"
