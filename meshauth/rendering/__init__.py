"""config -> plan -> shapes -> templates -> objects: the pure rendering step."""
