"""meshauth import: hand-written manifests of an oauth2-proxy + Istio setup -> a config."""
