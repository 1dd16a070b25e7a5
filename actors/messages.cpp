#include "actors/messages.hpp"

#include <caf/actor_system_config.hpp>

namespace ferry::actors {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<call_request>("ferry.call_request");
  cfg.add_message_type<call_reply>("ferry.call_reply");
  cfg.add_message_type<status_event>("ferry.status_event");
  cfg.add_message_type<transport::outcome>("ferry.outcome");
  cfg.add_message_type<std::vector<transport::outcome>>("ferry.outcomes");
  cfg.add_message_type<transport::function_spec>("ferry.function_spec");
  cfg.add_message_type<transport::function_info>("ferry.function_info");
  cfg.add_message_type<std::vector<transport::function_info>>("ferry.function_infos");
}

} // namespace ferry::actors
