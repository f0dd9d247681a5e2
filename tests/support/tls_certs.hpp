// Certificates for a TLS test, made by the openssl CLI in a directory of their own: a test CA,
// a server certificate it signs for localhost and 127.0.0.1, a client certificate it signs,
// and an unrelated CA that signed none of them. Removed in the destructor.
//
//   testing::TestCertificates certs;
//   testing::RedisServer redis({.extra = certs.redis_args(tls_port, "optional")});
//   endpoint.tls = {.enabled = true, .ca_file = certs.ca};
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace nautilus::testing {

struct TestCertificates {
  std::string dir, ca, server_cert, server_key, client_cert, client_key, other_ca;

  TestCertificates() {
    char tmpl[] = "/tmp/nautilus-certs-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    ca = dir + "/ca.pem";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    client_cert = dir + "/client.pem";
    client_key = dir + "/client.key";
    other_ca = dir + "/other-ca.pem";
    // P-256 keys: quick to make, unlike RSA.
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script =
        "cd " + dir + " && exec >openssl.log 2>&1" + " && openssl req -x509" + key +
        " -keyout ca.key -out ca.pem -days 2 -subj /CN=nautilus-test-ca" + " && openssl req" + key +
        " -keyout server.key -out server.csr -subj /CN=localhost" +
        " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' >server.ext" +
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
        " -out server.pem -days 2 -extfile server.ext" +
        " && openssl req" + key + " -keyout client.key -out client.csr -subj /CN=nautilus-client" +
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
        " -out client.pem -days 2" +
        " && openssl req -x509" + key +
        " -keyout other-ca.key -out other-ca.pem -days 2"
        " -subj /CN=some-other-ca";
    if (std::system(script.c_str()) != 0) {
      throw std::runtime_error("openssl could not make the test certificates (see " + dir +
                               "/openssl.log)");
    }
  }
  ~TestCertificates() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  // redis-server arguments for a TLS port beside its plaintext one, with this server
  // certificate; `auth_clients` is "no", "optional" or "yes" (a client certificate required).
  [[nodiscard]] std::vector<std::string> redis_args(std::uint16_t tls_port,
                                                    const std::string& auth_clients = "no") const {
    return {"--tls-port",         std::to_string(tls_port),
            "--tls-cert-file",    server_cert,
            "--tls-key-file",     server_key,
            "--tls-ca-cert-file", ca,
            "--tls-auth-clients", auth_clients};
  }
};

}  // namespace nautilus::testing
