"""Istio authorization, decided: the matcher, requests and tokens, simulate and explain."""
