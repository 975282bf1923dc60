#include "dlq_options.hpp"

#include "fleet/dlq/time.hpp"

namespace fleet::cli {
namespace {

// The dead-letter stream is created by the first worker; before that it holds nothing, which is
// an answer (0 entries, nothing to replay), not an error.
class NeverCreated final : public broker::StreamStore {
 public:
  explicit NeverCreated(std::string stream) : stream_(std::move(stream)) {}
  Status scan(std::uint64_t, const std::string&,
              const std::function<bool(broker::StoredMessage&)>&) override {
    return {};
  }
  Result<broker::StoredMessage> get(std::uint64_t sequence) override {
    return fail(Errc::not_found, "no " + stream_ + " message " + std::to_string(sequence) +
                                     " (stream " + stream_ + " does not exist yet)");
  }
  Status remove(std::uint64_t) override { return fail(gone()); }
  Status remove_async(std::uint64_t, std::function<void(const Status&)>) override {
    return fail(gone());
  }
  Status flush(std::chrono::milliseconds) override { return {}; }

 private:
  Error gone() const { return {Errc::not_found, "stream " + stream_ + " does not exist"}; }
  std::string stream_;
};

}  // namespace

void add_dlq_options(CLI::App& command, DlqOptions& options) {
  add_broker_options(command, options.nats);
  command.add_option("--stream", options.stream, "Dead-letter stream")->capture_default_str();
}

void add_filter_options(CLI::App& command, FilterOptions& options) {
  command.add_option("--subject,-s", options.subject,
                     "Original subject; NATS wildcards allowed (orders.*, orders.>)");
  command.add_option("--type,-t", options.type, "Event type, e.g. orders.OrderPlaced");
  command.add_option("--error,-e", options.error,
                     "Text in \"error class: message\" (case-insensitive; a stats --by error "
                     "line fits)");
  command.add_option("--role,-r", options.role, "Role whose handler failed");
  command.add_option("--since", options.since,
                     "Failed at or after: RFC 3339 or a span back from now (30m, 1h, 2d)");
  command.add_option("--until", options.until, "Failed before: RFC 3339 or a span (1h)");
  command.add_option("--limit,-n", options.limit, "At most this many entries, oldest first")
      ->check(CLI::NonNegativeNumber);
}

dlq::Filter to_filter(const FilterOptions& options) {
  dlq::Filter filter{.subject = options.subject,
                     .type = options.type,
                     .error = options.error,
                     .role = options.role,
                     .limit = options.limit};
  const auto now = std::chrono::system_clock::now();
  if (!options.since.empty()) {
    auto at = dlq::parse_time(options.since, now);
    if (!at) throw CommandError("--since: " + at.error().message, 2);
    filter.since = *at;
  }
  if (!options.until.empty()) {
    auto at = dlq::parse_time(options.until, now);
    if (!at) throw CommandError("--until: " + at.error().message, 2);
    filter.until = *at;
  }
  return filter;
}

std::unique_ptr<broker::StreamStore> open_store(broker::Transport& transport,
                                                const DlqOptions& options) {
  auto store = transport.stream_store(options.stream);
  if (!store && store.error().code == Errc::not_found) {
    return std::make_unique<NeverCreated>(options.stream);
  }
  if (!store) {
    throw CommandError("cannot open dead-letter stream " + options.stream + ": " +
                       store.error().message);
  }
  return std::move(*store);
}

std::vector<dlq::DeadLetter> load(broker::StreamStore& store, const DlqOptions& options,
                                  const dlq::Filter& filter) {
  auto entries = dlq::select(store, filter, options.subject_prefix);
  if (!entries)
    throw CommandError("cannot read " + options.stream + ": " + entries.error().message);
  return std::move(*entries);
}

}  // namespace fleet::cli
