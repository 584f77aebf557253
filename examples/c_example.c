/* sanstls from C: a client and a server talking in memory (C99).
 *
 *   sanstls-c-example CA_PEM SERVER_CHAIN_PEM SERVER_KEY_PEM
 *
 * (`sanstls pki --out DIR` writes DIR/ca.pem, DIR/server.pem, DIR/server.key.)
 * The "network" is the two connections' pending output handed across: the
 * same loop drives a socket, with send()/recv() in place of the hand-over. */
#include <sanstls.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t* read_file(const char* path, size_t* length) {
  FILE* file = fopen(path, "rb");
  uint8_t* data = NULL;
  long size;
  if (!file) return NULL;
  if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 && fseek(file, 0, SEEK_SET) == 0) {
    data = malloc((size_t)size + 1);
    if (data && fread(data, 1, (size_t)size, file) == (size_t)size) {
      *length = (size_t)size;
    } else {
      free(data);
      data = NULL;
    }
  }
  fclose(file);
  return data;
}

/* Moves one side's ciphertext into the other; returns bytes moved. */
static size_t transfer(sanstls_connection* from, sanstls_connection* to) {
  size_t length = 0;
  const uint8_t* bytes = sanstls_connection_pending_output(from, &length);
  size_t taken = length ? sanstls_connection_feed(to, bytes, length) : 0;
  sanstls_connection_consume_output(from, taken);
  return taken;
}

static int fail(const char* who, const sanstls_error* error) {
  fprintf(stderr, "%s failed: %s [stage %s] %s\n", who, error->name, error->stage_name,
          error->message);
  return 1;
}

int main(int argc, char** argv) {
  size_t ca_length = 0, chain_length = 0, key_length = 0;
  uint8_t *ca, *chain, *key;
  sanstls_config_builder* builder = NULL;
  sanstls_config *client_config = NULL, *server_config = NULL;
  sanstls_connection *client = NULL, *server = NULL;
  sanstls_error error;
  sanstls_info info;
  const char* request = "GET / HTTP/1.0\r\n\r\n";
  uint8_t buffer[256];
  size_t n;
  int rounds, status = 1;

  if (argc != 4) {
    fprintf(stderr, "usage: %s CA_PEM SERVER_CHAIN_PEM SERVER_KEY_PEM\n", argv[0]);
    return 2;
  }
  ca = read_file(argv[1], &ca_length);
  chain = read_file(argv[2], &chain_length);
  key = read_file(argv[3], &key_length);
  if (!ca || !chain || !key) {
    fprintf(stderr, "cannot read the PEM files\n");
    goto out;
  }

  /* A server with a certificate; a client that trusts its CA. */
  sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &builder);
  sanstls_config_builder_certificate(builder, chain, chain_length, key, key_length, NULL);
  if (sanstls_config_build(builder, &server_config, &error) != SANSTLS_OK) {
    status = fail("server config", &error);
    goto out;
  }
  sanstls_config_builder_free(builder);
  sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &builder);
  sanstls_config_builder_trust_anchors(builder, ca, ca_length);
  if (sanstls_config_build(builder, &client_config, &error) != SANSTLS_OK) {
    status = fail("client config", &error);
    goto out;
  }

  if (sanstls_connection_client(client_config, "localhost", NULL, 0, &client, &error) != SANSTLS_OK)
    goto out;
  if (sanstls_connection_server(server_config, &server, &error) != SANSTLS_OK) goto out;

  /* Handshake, then one request and its answer, then close_notify. */
  for (rounds = 0; rounds < 50; ++rounds) {
    if (!transfer(client, server) && !transfer(server, client)) break;
  }
  if (sanstls_connection_error(client, &error) != SANSTLS_OK) {
    status = fail("client handshake", &error);
    goto out;
  }
  sanstls_connection_info(client, &info);
  printf("client: %s %s, server certificate %s\n", info.protocol, info.cipher_standard_name,
         info.authorized ? "verified" : "NOT verified");

  sanstls_connection_write(client, (const uint8_t*)request, strlen(request));
  transfer(client, server);
  n = sanstls_connection_read(server, buffer, sizeof buffer - 1);
  buffer[n] = '\0';
  printf("server read %zu bytes: %s", n, (const char*)buffer);
  sanstls_connection_write(server, (const uint8_t*)"HTTP/1.0 200 OK\r\n\r\nhello from C\n", 32);
  sanstls_connection_close(server);
  transfer(server, client);
  n = sanstls_connection_read(client, buffer, sizeof buffer - 1);
  buffer[n] = '\0';
  printf("client read %zu bytes: %s", n, (const char*)buffer);
  transfer(server, client);                 /* the close_notify, taken once the data was read */
  sanstls_connection_transport_eof(client); /* after close_notify: a clean end */
  if (sanstls_connection_error(client, &error) != SANSTLS_OK) {
    status = fail("client close", &error);
    goto out;
  }
  printf("closed cleanly: %s\n",
         (sanstls_connection_wants(client) & SANSTLS_READ_CLOSED) ? "yes" : "no");
  status = 0;

out:
  sanstls_connection_free(client);
  sanstls_connection_free(server);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
  sanstls_config_builder_free(builder);
  free(ca);
  free(chain);
  free(key);
  return status;
}
