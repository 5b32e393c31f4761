"""What each upstream release accepts: Istio versions and oauth2-proxy flags."""
