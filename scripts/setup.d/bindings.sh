# shellcheck shell=bash
# Bindings (issue 14): the Python module (pybind11 against the system python3,
# tested with pytest) and the pkg-config consumer test.
PKGS+=(pybind11-dev python3-dev python3-pytest pkg-config)
