/* inet_pton() for the bare-metal build (see firmware/compat/arpa/inet.h). */
#include <arpa/inet.h>
#include <stdint.h>

int inet_pton(int family, const char* text, void* out) {
  if (family != AF_INET) return 0;
  uint8_t bytes[4];
  for (int part = 0; part < 4; ++part) {
    unsigned value = 0, digits = 0;
    while (*text >= '0' && *text <= '9' && digits < 4)
      value = value * 10 + (unsigned)(*text++ - '0'), ++digits;
    if (digits == 0 || digits > 3 || value > 255) return 0;
    bytes[part] = (uint8_t)value;
    if (part < 3 && *text++ != '.') return 0;
  }
  if (*text != '\0') return 0;
  for (int i = 0; i < 4; ++i) ((uint8_t*)out)[i] = bytes[i];
  return 1;
}
