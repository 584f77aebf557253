// sanstls pki --out DIR: a complete test PKI for tests and interop, made with
// sanstls::testing::Pki from a fresh random seed. Keys are written as PKCS#8
// ("BEGIN PRIVATE KEY"), which OpenSSL, GnuTLS, Python and Node all read.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "options.h"
#include "sanstls/platform.h"
#include "sanstls/testing/pki.h"

namespace sanstls_cli {
namespace {

using sanstls::testing::CertificateSpec;
using sanstls::testing::Identity;
using sanstls::testing::KeyType;
using sanstls::testing::Pki;

const CommandSpec kSpec{
    "pki",
    "--out DIR [--name NAME ...] [--ip ADDRESS ...]",
    "Writes a throwaway test PKI into DIR (created if missing):\n"
    "  ca.pem              ECDSA root CA (trust this one)\n"
    "  ca-rsa.pem          RSA root CA\n"
    "  server.pem/.key     ECDSA server certificate + intermediate CA chain, under ca.pem\n"
    "  server-rsa.pem/.key RSA server certificate under ca-rsa.pem\n"
    "  client.pem/.key     client certificate \"client.example\" under ca.pem\n"
    "  expired.pem/.key    an expired server certificate under ca.pem\n"
    "  other-ca.pem        a root nobody trusts; other.pem/.key a server certificate under it\n"
    "  revoked.pem/.key    a server certificate under ca.pem that revoked.crl revokes\n"
    "  revoked.crl         CRL from ca.pem listing revoked.pem (--crl for client and server)\n"
    "Server certificates name localhost, 127.0.0.1 and ::1 plus every --name and --ip.\n"
    "Keys are PKCS#8 PEM. For tests only: never use these anywhere real.",
    {
        {"--out", "DIR", "directory to write into"},
        {"--name", "NAME",
         "DNS name for server certificates (first one is the CN; default localhost)", true},
        {"--ip", "ADDRESS", "extra IP address for server certificates", true},
    },
    0,
    0};

struct Failure {
  std::string message;
};

class Writer {
 public:
  explicit Writer(std::string dir) : dir_(std::move(dir)) {}

  void write(const std::string& name, const std::string& content, const char* what, bool secret) {
    const std::string path = dir_ + "/" + name;
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) throw Failure{"cannot write " + path + ": " + std::strerror(errno)};
    if (secret) ::chmod(path.c_str(), 0600);
    const bool ok = std::fwrite(content.data(), 1, content.size(), file) == content.size();
    if (std::fclose(file) != 0 || !ok) throw Failure{"cannot write " + path};
    std::printf("  %-16s %s\n", name.c_str(), what);
  }

  void write_key(const std::string& name, const Identity& identity) {
    auto pem = sanstls::testing::pkcs8_private_key_pem(identity.key);
    if (!pem) throw Failure{"cannot encode the key for " + name};
    write(name, *pem, "private key (PKCS#8)", true);
  }

 private:
  std::string dir_;
};

Identity made(const std::optional<Identity>& identity, const Pki& pki, const char* what) {
  if (!identity) throw Failure{std::string("cannot make ") + what + ": " + pki.last_error()};
  return *identity;
}

CertificateSpec ca_spec(const std::string& name, KeyType type) {
  CertificateSpec spec;
  spec.common_name = name;
  spec.is_ca = true;
  spec.key_type = type;
  return spec;
}

CertificateSpec server_spec(const std::vector<std::string>& names,
                            const std::vector<std::string>& ips, KeyType type) {
  CertificateSpec spec;
  spec.common_name = names.front();
  spec.dns_names = names;
  spec.ip_addresses = ips;
  spec.key_type = type;
  spec.client_auth = false;
  return spec;
}

void add_unique(std::vector<std::string>& list, const std::string& item) {
  for (const auto& existing : list) {
    if (existing == item) return;
  }
  list.push_back(item);
}

}  // namespace

int pki_command(int argc, char** argv, int first) {
  const Args args = parse_args(kSpec, argc, argv, first);
  if (args.help) {
    std::fputs(usage_text(kSpec).c_str(), stdout);
    return kExitOk;
  }
  if (!args.has("--out")) throw UsageError("--out DIR is required");
  const std::string dir = args.value("--out");
  std::vector<std::string> names = args.values("--name");
  if (names.empty()) names.push_back("localhost");
  add_unique(names, "localhost");
  std::vector<std::string> ips = {"127.0.0.1", "::1"};
  for (const auto& ip : args.values("--ip")) add_unique(ips, ip);

  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "sanstls: cannot create %s: %s\n", dir.c_str(), std::strerror(errno));
    return kExitFailure;
  }
  uint64_t seed = 0;
  if (!sanstls::platform::os_random().fill(sanstls::MutableByteView(&seed, sizeof seed))) {
    std::fprintf(stderr, "sanstls: no OS randomness\n");
    return kExitFailure;
  }
  try {
    Pki pki(seed);
    Writer out(dir);
    std::printf("sanstls pki: test certificates in %s (throwaway; for tests only)\n", dir.c_str());

    const Identity ca =
        made(pki.self_signed(ca_spec("sanstls test root CA", KeyType::ecdsa_p256)), pki, "the CA");
    CertificateSpec intermediate_spec =
        ca_spec("sanstls test intermediate CA", KeyType::ecdsa_p256);
    intermediate_spec.path_length = 0;
    const Identity intermediate =
        made(pki.issue(ca, intermediate_spec), pki, "the intermediate CA");
    const Identity server =
        made(pki.issue(intermediate, server_spec(names, ips, KeyType::ecdsa_p256)), pki,
             "the server certificate");
    out.write("ca.pem", ca.certificate_pem, "ECDSA root CA: trust this", false);
    out.write("server.pem", sanstls::testing::chain_pem({&server, &intermediate}),
              "ECDSA server certificate + intermediate CA", false);
    out.write_key("server.key", server);

    const Identity ca_rsa = made(
        pki.self_signed(ca_spec("sanstls test RSA root CA", KeyType::rsa2048)), pki, "the RSA CA");
    const Identity server_rsa = made(pki.issue(ca_rsa, server_spec(names, ips, KeyType::rsa2048)),
                                     pki, "the RSA server certificate");
    out.write("ca-rsa.pem", ca_rsa.certificate_pem, "RSA root CA", false);
    out.write("server-rsa.pem", server_rsa.certificate_pem,
              "RSA server certificate (under ca-rsa.pem)", false);
    out.write_key("server-rsa.key", server_rsa);

    CertificateSpec client_spec;
    client_spec.common_name = "client.example";
    client_spec.dns_names = {"client.example"};
    client_spec.server_auth = false;
    const Identity client = made(pki.issue(ca, client_spec), pki, "the client certificate");
    out.write("client.pem", client.certificate_pem, "client certificate CN=client.example", false);
    out.write_key("client.key", client);

    CertificateSpec expired_spec = server_spec(names, ips, KeyType::ecdsa_p256);
    expired_spec.not_before = "20200101000000";
    expired_spec.not_after = "20210101000000";
    const Identity expired = made(pki.issue(ca, expired_spec), pki, "the expired certificate");
    out.write("expired.pem", expired.certificate_pem, "server certificate that expired in 2021",
              false);
    out.write_key("expired.key", expired);

    const Identity other_ca =
        made(pki.self_signed(ca_spec("sanstls untrusted root CA", KeyType::ecdsa_p256)), pki,
             "the untrusted CA");
    const Identity other = made(pki.issue(other_ca, server_spec(names, ips, KeyType::ecdsa_p256)),
                                pki, "the untrusted server certificate");
    out.write("other-ca.pem", other_ca.certificate_pem, "a root CA nobody trusts", false);
    out.write("other.pem", other.certificate_pem, "server certificate under other-ca.pem", false);
    out.write_key("other.key", other);

    const Identity revoked = made(pki.issue(ca, server_spec(names, ips, KeyType::ecdsa_p256)), pki,
                                  "the revoked certificate");
    const std::optional<std::string> crl = pki.crl(ca, {&revoked});
    if (!crl) throw Failure{"cannot make the CRL: " + pki.last_error()};
    out.write("revoked.pem", revoked.certificate_pem, "server certificate under ca.pem, revoked",
              false);
    out.write_key("revoked.key", revoked);
    out.write("revoked.crl", *crl, "CRL from ca.pem revoking revoked.pem", false);
  } catch (const Failure& failure) {
    std::fprintf(stderr, "sanstls: %s\n", failure.message.c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace sanstls_cli
