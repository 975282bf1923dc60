// hello-worker: one event type, one role, one handler. See README.md for how to run it.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/runtime/worker_main.hpp"

namespace {

// The event: a msgpack map {"name": "..."} behind the header Fleet-Type: hello.Greeting.
struct Greeting {
  static constexpr std::string_view type_name = "hello.Greeting";
  static constexpr std::uint32_t schema_version = 1;
  std::string name;
  MSGPACK_DEFINE_MAP(name);
};

// The handler: prints one line per greeting; Outcome::ok() acks it.
fleet::runtime::Outcome greet(const Greeting& greeting, fleet::runtime::Context& context) {
  std::printf("hello, %s (event %s)\n", greeting.name.c_str(), context.event().id.c_str());
  std::fflush(stdout);
  return fleet::runtime::Outcome::ok();
}

// The role: reads hello.> from the stream HELLO (created at start-up) through the durable
// "greeter", shared by every process of the role; the flags' settings (--concurrency,
// --max-attempts, ...) go on the binding with settings.apply.
const fleet::runtime::Role greeter{
    .name = "greeter",
    .description = "prints a line for every hello.Greeting",
    .bindings = [](fleet::broker::Transport&, const fleet::runtime::RoleSettings& settings)
        -> fleet::Result<std::vector<fleet::runtime::Binding>> {
      return std::vector{settings.apply({.role = "greeter",
                                         .stream = "HELLO",
                                         .subject = "hello.>",
                                         .handler = fleet::runtime::typed<Greeting>(greet)})};
    },
    .streams = {{.name = "HELLO", .subjects = {"hello.>"}}},
};

}  // namespace

int main(int argc, char** argv) {
  return fleet::runtime::worker_main(argc, argv, "hello-worker", {greeter});
}
