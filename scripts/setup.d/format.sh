# scripts/check-format.sh (CI: scripts/ci.d/format.sh)
PKGS+=(clang-format-14)
