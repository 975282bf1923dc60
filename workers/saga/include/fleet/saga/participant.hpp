// A participant role of a saga: handles the StepCommands of one step (do and undo) and replies
// to the orchestrator. The handler says what happened with reply(); an error it cannot decide
// about (store down) is returned as a retryable Outcome and the command comes back later.
#pragma once

#include <functional>
#include <string>

#include "fleet/runtime/binding.hpp"
#include "fleet/runtime/context.hpp"
#include "fleet/runtime/role_settings.hpp"
#include "fleet/saga/definition.hpp"
#include "fleet/schemas/events/saga.hpp"

namespace fleet::saga {

using StepHandler = std::function<runtime::Outcome(const schemas::StepCommand&, runtime::Context&)>;

// Stages the reply to `command` ("done", "failed" with a reason, or "compensated").
void reply(runtime::Context& context, const schemas::StepCommand& command, std::string_view outcome,
           std::string reason = {});

// One binding on "<command subject's first token>.>" of `stream` for step `step` of
// `definition`, with the step's retry policy. Uses the inbox as `settings` says; a participant
// whose do / undo are idempotent by themselves (a ledger) can turn it off.
runtime::Binding participant_binding(const Definition& definition, std::size_t step,
                                     const std::string& stream,
                                     const runtime::RoleSettings& settings, StepHandler handle);

}  // namespace fleet::saga
