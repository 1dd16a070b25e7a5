#pragma once

#include <caf/actor.hpp>
#include <caf/actor_companion.hpp>
#include <caf/behavior.hpp>
#include <caf/fwd.hpp>
#include <caf/scoped_execution_unit.hpp>

#include <functional>
#include <mutex>
#include <vector>

namespace ferry::actors::internal {

/// An actor_companion whose messages are handled on a thread the owner drives
/// (a socket's poll thread): arrivals are queued and `wake` is called; the
/// owner's thread then runs drain(), which runs the behavior on each message.
/// Construct and become() before that thread starts; destroy after it ended.
class companion_mailbox {
public:
  companion_mailbox(caf::actor_system& sys, std::function<void()> wake);
  ~companion_mailbox();

  companion_mailbox(const companion_mailbox&) = delete;
  companion_mailbox& operator=(const companion_mailbox&) = delete;

  void become(caf::behavior bhvr) { self_->become(std::move(bhvr)); }

  /// The companion, to send from (on the owner's thread only).
  [[nodiscard]] caf::actor_companion* self() const noexcept { return self_; }

  /// The companion's handle, to give to other actors.
  [[nodiscard]] const caf::actor& handle() const noexcept { return handle_; }

  /// Handles every message that arrived so far, on the calling thread.
  void drain();

private:
  caf::actor handle_;
  caf::actor_companion* self_;
  caf::scoped_execution_unit unit_;
  std::mutex mtx_;
  std::vector<caf::mailbox_element_ptr> inbox_;
};

} // namespace ferry::actors::internal
