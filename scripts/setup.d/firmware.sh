# Firmware (issue 15): the Cortex-M cross toolchain and QEMU (scripts/firmware.sh).
PKGS+=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm)
