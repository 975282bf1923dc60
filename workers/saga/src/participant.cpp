#include "fleet/saga/participant.hpp"

#include "fleet/runtime/handler.hpp"

namespace fleet::saga {

void reply(runtime::Context& context, const schemas::StepCommand& command, std::string_view outcome,
           std::string reason) {
  context.publish(command.reply_to,
                  schemas::StepReply{.saga_id = command.saga_id,
                                     .step = command.step,
                                     .outcome = std::string(outcome),
                                     .reason = std::move(reason)},
                  command.saga_id);
}

runtime::Binding participant_binding(const Definition& definition, std::size_t step,
                                     const std::string& stream,
                                     const runtime::RoleSettings& settings, StepHandler handle) {
  const Step& s = definition.steps.at(step);
  const std::string prefix = s.command_subject.substr(0, s.command_subject.find('.'));
  runtime::Binding binding =
      settings.apply({.role = s.name,
                      .stream = stream,
                      .subject = prefix + ".>",
                      .handler = runtime::typed<schemas::StepCommand>(std::move(handle))});
  binding.retry = s.retry.value_or(settings.retry);  // the step's own policy, if it has one
  return binding;
}

}  // namespace fleet::saga
