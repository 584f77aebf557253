# tunnel (issue 13): squid is the second real HTTP proxy tests/tunnel/proxy_test.py
# starts on loopback (its own configuration, never the system service).
# tinyproxy-bin, curl and openssl come from scripts/setup.sh.
PKGS+=(squid)
