/* newlib has no <arpa/inet.h>; the core uses only inet_pton() (pure parsing,
 * to tell an IP-address server name from a DNS name). firmware/src/inet.c
 * implements it for IPv4; IPv6 literals are not recognised (such a name is
 * then checked as a DNS name and never matches: the check fails closed). */
#ifndef SANSTLS_FIRMWARE_ARPA_INET_H
#define SANSTLS_FIRMWARE_ARPA_INET_H
#define AF_INET 2
#define AF_INET6 10
#ifdef __cplusplus
extern "C" {
#endif
int inet_pton(int family, const char* text, void* out);
#ifdef __cplusplus
}
#endif
#endif
