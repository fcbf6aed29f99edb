"""The live server: every page rendered on request from the archive, the JSON API, search."""
