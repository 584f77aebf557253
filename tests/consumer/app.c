/* A consumer of the installed C API: a TLS 1.3 PSK handshake in memory and
 * one message, through <sanstls.h> only. Prints "consumer c: ok". */
#include <sanstls.h>

#include <stdio.h>
#include <string.h>

static size_t lookup(void* user_data, const uint8_t* identity, size_t identity_length, uint8_t* key,
                     size_t capacity) {
  (void)user_data;
  if (identity_length != 8 || memcmp(identity, "consumer", 8) != 0 || capacity < 32) return 0;
  memset(key, 7, 32);
  return 32;
}

static size_t transfer(sanstls_connection* from, sanstls_connection* to) {
  size_t length = 0;
  const uint8_t* bytes = sanstls_connection_pending_output(from, &length);
  size_t taken = length ? sanstls_connection_feed(to, bytes, length) : 0;
  sanstls_connection_consume_output(from, taken);
  return taken;
}

int main(void) {
  uint8_t key[32], buffer[16];
  sanstls_config_builder *cb = NULL, *sb = NULL;
  sanstls_config *client_config = NULL, *server_config = NULL;
  sanstls_connection *client = NULL, *server = NULL;
  sanstls_error error;
  sanstls_info info;
  int rounds, ok = 0;
  size_t n = 0;

  memset(key, 7, sizeof key);
  sanstls_config_builder_new(SANSTLS_ROLE_CLIENT, &cb);
  sanstls_config_builder_psk(cb, "consumer", key, sizeof key);
  sanstls_config_builder_new(SANSTLS_ROLE_SERVER, &sb);
  sanstls_config_builder_psk_lookup(sb, lookup, NULL);
  if (sanstls_config_build(cb, &client_config, &error) != SANSTLS_OK ||
      sanstls_config_build(sb, &server_config, &error) != SANSTLS_OK ||
      sanstls_connection_client(client_config, "consumer.local", NULL, 0, &client, &error) ||
      sanstls_connection_server(server_config, &server, &error)) {
    printf("consumer c: %s %s\n", error.name, error.message);
    return 1;
  }
  for (rounds = 0; rounds < 20; ++rounds) {
    if (!transfer(client, server) && !transfer(server, client)) break;
  }
  sanstls_connection_write(client, (const uint8_t*)"hello", 5);
  transfer(client, server);
  n = sanstls_connection_read(server, buffer, sizeof buffer);
  sanstls_connection_info(server, &info);
  ok = n == 5 && memcmp(buffer, "hello", 5) == 0 && strcmp(info.protocol, "TLSv1.3") == 0 &&
       strcmp(sanstls_version(), SANSTLS_VERSION) == 0;
  printf("consumer c: sanstls %s, %s, psk %s: %s\n", sanstls_version(), info.protocol,
         info.psk_identity, ok ? "ok" : "FAILED");
  sanstls_connection_free(client);
  sanstls_connection_free(server);
  sanstls_config_free(client_config);
  sanstls_config_free(server_config);
  sanstls_config_builder_free(cb);
  sanstls_config_builder_free(sb);
  return ok ? 0 : 1;
}
