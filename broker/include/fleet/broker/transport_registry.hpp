// Transports by name, for broker::connect (connect.hpp). Each transport library registers itself
// from one small source file of its own (jetstream/register.cpp, kafka/register.cpp), so adding
// a transport is a new library and its flags, with no switch to edit in anyone else's file.
//
// Static libraries drop archive members nothing references, and nothing references a
// registration. broker/CMakeLists.txt therefore links each registration file as an object file
// into every program that links its transport library (fleet_transport_library there);
// tests/unit/transport_registry_test.cpp checks that both transports resolve.
//
// Threads: registration runs during static initialisation; lookups may come from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fleet/broker/connect.hpp"

namespace fleet::broker {

struct TransportFactory {
  std::function<Result<std::unique_ptr<Transport>>(const TransportConfig&)> connect;
  // "<name> <address>", without secrets (broker::describe).
  std::function<std::string(const TransportConfig&)> describe;
  // Sets the client name in this transport's part of the config (broker::set_client_name).
  std::function<void(TransportConfig&, const std::string&)> set_client_name;
};

// Registers `factory` under `name`. Returns false (and keeps the first) when the name is taken.
// Meant to initialise a namespace-scope constant in the transport's registration file.
bool register_transport(const std::string& name, TransportFactory factory);

// The registered names, sorted: what `--transport` accepts.
std::vector<std::string> registered_transports();

}  // namespace fleet::broker
