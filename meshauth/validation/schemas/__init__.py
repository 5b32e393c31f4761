"""Upstream schemas: bundled CRDs, user CRDs, the compiled check, CEL rules."""
