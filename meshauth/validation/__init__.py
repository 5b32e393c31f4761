"""Schema validation and cross-resource rules on a bundle or hand-written manifests."""
