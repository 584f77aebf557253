// The sanstls tool's commands. Each returns the process exit status:
// 0 success, 1 a failed connection or operation, 2 a usage error (thrown as
// UsageError and reported by main()).
#pragma once

namespace sanstls_cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// argv[first] is the first argument after the command's name.
int client_command(int argc, char** argv, int first);
int server_command(int argc, char** argv, int first);
int demo_command(int argc, char** argv, int first);
int pki_command(int argc, char** argv, int first);
int proxy_command(int argc, char** argv, int first);

}  // namespace sanstls_cli
