"""Cross-resource rules, one module per theme, and the facts they read."""
