# scripts/bench-epoll.sh (issue 11) compares sanstls's epoll server with
# nginx (its stream module for the TLS echo) and Node (installed by setup.sh).
# The nginx service itself is not used: the script starts its own nginx on
# loopback with a configuration under build/.
PKGS+=(nginx libnginx-mod-stream)
