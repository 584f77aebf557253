#!/usr/bin/env bash
# Formatting (.clang-format) is checked before anything is built.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../check-format.sh"
