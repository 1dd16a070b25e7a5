#include "actors/internal/companion_mailbox.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>

namespace ferry::actors::internal {

companion_mailbox::companion_mailbox(caf::actor_system& sys, std::function<void()> wake)
  : handle_(sys.spawn<caf::actor_companion>()),
    self_(static_cast<caf::actor_companion*>(caf::actor_cast<caf::abstract_actor*>(handle_))),
    unit_(&sys) {
  self_->on_enqueue([this, wake = std::move(wake)](caf::mailbox_element_ptr ptr) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      inbox_.push_back(std::move(ptr));
    }
    wake();
  });
}

companion_mailbox::~companion_mailbox() {
  self_->on_enqueue({});
  self_->cleanup(caf::make_error(caf::exit_reason::user_shutdown), &unit_);
}

void companion_mailbox::drain() {
  std::vector<caf::mailbox_element_ptr> batch;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    batch.swap(inbox_);
  }
  for (auto& elem : batch)
    self_->activate(&unit_, *elem);
}

} // namespace ferry::actors::internal
