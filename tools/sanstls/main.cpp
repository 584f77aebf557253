// sanstls: a TLS client, server, demo and test-PKI maker over the sans-I/O
// engine. This file only dispatches to the commands.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.h"
#include "options.h"

namespace {

const char kUsage[] =
    "usage: sanstls COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  client HOST:PORT   connect with TLS; relay stdin/stdout, or --send; --json describes it\n"
    "  server             accept TLS connections: --echo or --www, one at a time\n"
    "  demo               a throwaway CA, a server and a client on loopback (TLS 1.3, then 1.2)\n"
    "  pki --out DIR      write a test PKI (CAs, server/client certificates, PKCS#8 keys)\n"
    "  proxy              a CONNECT proxy (HTTP, or HTTPS with --cert/--key) on the epoll loop\n"
    "  version            print the versions of sanstls and mbedTLS\n"
    "\n"
    "'sanstls COMMAND --help' describes each command's options.\n"
    "exit status: 0 success, 1 failure (the error is printed with its stage), 2 usage error\n";

int version() {
  std::printf("sanstls %s (mbedTLS %s)\n", SANSTLS_VERSION_STRING, SANSTLS_MBEDTLS_VERSION_STRING);
  return sanstls_cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout or socket is an error, not a crash
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return sanstls_cli::kExitUsage;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return sanstls_cli::kExitOk;
  }
  if (command == "version" || command == "--version") return version();
  try {
    if (command == "client") return sanstls_cli::client_command(argc, argv, 2);
    if (command == "server") return sanstls_cli::server_command(argc, argv, 2);
    if (command == "demo") return sanstls_cli::demo_command(argc, argv, 2);
    if (command == "pki") return sanstls_cli::pki_command(argc, argv, 2);
    if (command == "proxy") return sanstls_cli::proxy_command(argc, argv, 2);
  } catch (const sanstls_cli::UsageError& e) {
    std::fprintf(stderr, "sanstls %s: %s\nsee 'sanstls %s --help'\n", command.c_str(), e.what(),
                 command.c_str());
    return sanstls_cli::kExitUsage;
  }
  std::fprintf(stderr, "sanstls: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return sanstls_cli::kExitUsage;
}
