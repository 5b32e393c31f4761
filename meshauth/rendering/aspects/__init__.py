"""What the config means for oauth2-proxy: its args, IdP, sessions, bearer tokens, hardening."""
