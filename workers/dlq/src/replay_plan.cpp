#include "fleet/dlq/replay_plan.hpp"

#include "fleet/schemas/envelope.hpp"

namespace fleet::dlq {

namespace {

// `headers` and `body` are the entry's own, copied or moved in by the caller.
Planned make_plan(const DeadLetter& entry, Headers headers, std::string body,
                  const ReplayOptions& options, const schemas::Registry& registry) {
  Planned plan;
  if (entry.replay_count >= options.max_replays && !options.force) {
    plan.action = Planned::Action::skip;
    plan.reason = "replayed " + std::to_string(entry.replay_count) +
                  " times already (loop guard; --force replays anyway)";
    return plan;
  }
  // The worker left the body out to fit the broker's size limit: replaying would publish an
  // empty event. The original is still in its own stream while retention keeps it.
  const auto trimmed = header(headers, schemas::dlq_header::trimmed);
  if (trimmed && trimmed->find("body") != std::string_view::npos) {
    plan.action = Planned::Action::fail;
    plan.reason = "body not stored (too large for the broker); the original is at sequence " +
                  std::string(header(headers, schemas::dlq_header::stream_sequence).value_or("?")) +
                  " of " + entry.original_subject + "'s stream";
    return plan;
  }
  const std::string subject = options.to.empty() ? entry.original_subject : options.to;
  if (subject.empty()) {
    plan.action = Planned::Action::fail;
    plan.reason = "no original subject recorded (give --to)";
    return plan;
  }

  broker::Message& m = plan.message;
  m.subject = subject;
  m.body = std::move(body);
  m.headers = std::move(headers);
  // Failure headers sort together ("Fleet-Dlq-..."), so one range erase drops them all.
  const auto first = m.headers.lower_bound(failure_header_prefix);
  auto last = first;
  while (last != m.headers.end() &&
         std::string_view(last->first).starts_with(failure_header_prefix)) {
    ++last;
  }
  m.headers.erase(first, last);
  m.headers[std::string(replay_count_header)] = std::to_string(entry.replay_count + 1);
  m.key = std::string(header(m.headers, schemas::header::ordering_key).value_or(""));
  m.dedup_id = (entry.id.empty() ? "dlq" : entry.id) + ".replay." + std::to_string(entry.sequence);

  if (options.edit) {
    auto view = registry.to_json(entry.type, m.body);
    if (!view) {
      plan.action = Planned::Action::fail;
      plan.reason = "cannot edit: payload does not decode: " + view.error().message;
      return plan;
    }
    view->merge_patch(*options.edit);
    auto encoded = registry.from_json(entry.type, *view);
    if (!encoded) {
      plan.action = Planned::Action::fail;
      plan.reason = "edited payload is invalid: " + encoded.error().message;
      return plan;
    }
    m.body = std::move(*encoded);
  }
  return plan;
}

}  // namespace

Planned plan_replay(const DeadLetter& entry, const ReplayOptions& options,
                    const schemas::Registry& registry) {
  return make_plan(entry, entry.message.headers, entry.message.body, options, registry);
}

Planned plan_replay(DeadLetter&& entry, const ReplayOptions& options,
                    const schemas::Registry& registry) {
  Headers headers = std::move(entry.message.headers);
  std::string body = std::move(entry.message.body);
  return make_plan(entry, std::move(headers), std::move(body), options, registry);
}

}  // namespace fleet::dlq
