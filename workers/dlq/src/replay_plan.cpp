#include "fleet/dlq/replay_plan.hpp"

#include "fleet/schemas/envelope.hpp"

namespace fleet::dlq {

Planned plan_replay(const DeadLetter& entry, const ReplayOptions& options,
                    const schemas::Registry& registry) {
  Planned plan;
  if (entry.replay_count >= options.max_replays && !options.force) {
    plan.action = Planned::Action::skip;
    plan.reason = "replayed " + std::to_string(entry.replay_count) +
                  " times already (loop guard; --force replays anyway)";
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
  m.body = entry.message.body;
  for (const auto& [name, value] : entry.message.headers) {
    if (!std::string_view(name).starts_with(failure_header_prefix)) m.headers.emplace(name, value);
  }
  m.headers[std::string(replay_count_header)] = std::to_string(entry.replay_count + 1);
  m.key = std::string(header(m.headers, schemas::header::ordering_key).value_or(""));
  m.dedup_id = (entry.id.empty() ? "dlq" : entry.id) + ".replay." + std::to_string(entry.sequence);

  if (options.edit) {
    auto view = registry.to_json(entry.type, entry.message.body);
    if (!view) {
      plan.action = Planned::Action::fail;
      plan.reason = "cannot edit: payload does not decode: " + view.error().message;
      return plan;
    }
    view->merge_patch(*options.edit);
    auto body = registry.from_json(entry.type, *view);
    if (!body) {
      plan.action = Planned::Action::fail;
      plan.reason = "edited payload is invalid: " + body.error().message;
      return plan;
    }
    m.body = std::move(*body);
  }
  return plan;
}

}  // namespace fleet::dlq
