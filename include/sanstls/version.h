/* The sanstls version, for C and C++. Kept equal to the CMake project version:
 * configuring fails when they differ (cmake/parts/bindings.cmake). */
#ifndef SANSTLS_VERSION_H
#define SANSTLS_VERSION_H

#define SANSTLS_VERSION_MAJOR 0
#define SANSTLS_VERSION_MINOR 1
#define SANSTLS_VERSION_PATCH 0
#define SANSTLS_VERSION "0.1.0"
/* 0xMMmmpp: compare with >= in #if. */
#define SANSTLS_VERSION_NUMBER 0x000100

#endif
