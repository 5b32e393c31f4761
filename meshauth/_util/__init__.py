"""Small helpers with no meshauth knowledge: shipped data, forking workers, pausing the collector."""
