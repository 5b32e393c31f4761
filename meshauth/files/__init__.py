"""Files in and out: the YAML reader with line numbers, YAML text, the tree writer, user files."""
