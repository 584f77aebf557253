# shellcheck shell=bash
# Outside conformance check (tests/conformance): Debian's testssl.sh (3.0.8 in
# bookworm, installed as /usr/bin/testssl) scans `sanstls server --www` on
# loopback with an RSA and an ECDSA certificate.
PKGS+=(testssl.sh)
