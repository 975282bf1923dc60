#include "fleet/flags/nats.hpp"

namespace fleet::flags {

void add_nats_flags(CLI::App& app, broker::jetstream::Config& config) {
  app.add_option("--nats", config.url, "NATS server URL(s), comma-separated")
      ->envname("FLEET_NATS_URL")
      ->capture_default_str();
  app.add_option("--stream-replicas", config.replicas,
                 "Replicas of the streams and KV buckets created (3 on a 3-node cluster; "
                 "0 = each one's default, 1)")
      ->envname("FLEET_STREAM_REPLICAS")
      ->check(CLI::Range(0, 5))
      ->capture_default_str();
  app.add_flag("--nats-send-asap", config.send_asap,
               "Write every publish and ack at once. By default a handler's publishes go out "
               "at once unless its binding is busy, and acks are gathered for up to 1 ms; "
               "this also writes those at once: more system calls under heavy load")
      ->envname("FLEET_NATS_SEND_ASAP");
  auto& c = config.credentials;
  app.add_option("--nats-user", c.user, "NATS user (with --nats-password)")
      ->envname("FLEET_NATS_USER");
  app.add_option("--nats-password", c.password, "NATS password")->envname("FLEET_NATS_PASSWORD");
  app.add_option("--nats-token", c.token, "NATS authentication token")->envname("FLEET_NATS_TOKEN");
  app.add_option("--nats-creds", c.creds_file, "NATS credentials file (JWT and NKey seed)")
      ->envname("FLEET_NATS_CREDS");
  app.add_flag("--nats-tls", c.tls, "Connect with TLS (system CAs unless --nats-ca)")
      ->envname("FLEET_NATS_TLS");
  app.add_option("--nats-ca", c.ca_file, "CA certificates (PEM) to verify the server; TLS")
      ->envname("FLEET_NATS_CA");
  app.add_option("--nats-cert", c.cert_file, "Client certificate (PEM) for mutual TLS")
      ->envname("FLEET_NATS_CERT");
  app.add_option("--nats-key", c.key_file, "Client private key (PEM) for mutual TLS")
      ->envname("FLEET_NATS_KEY");
}

}  // namespace fleet::flags
