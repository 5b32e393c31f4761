"""A GitOps repository from one config: layers, engines (Argo CD, Flux), drift."""
