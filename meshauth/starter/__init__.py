"""meshauth init: a commented starter config."""
