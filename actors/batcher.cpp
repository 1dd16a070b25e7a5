#include "actors/batcher.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <deque>
#include <optional>
#include <map>
#include <unordered_map>
#include <utility>

namespace ferry::actors {

namespace {

using transport::errc;
using transport::function_spec;
using transport::outcome;

using request_id = std::uint64_t;
using batch_id = std::uint64_t;

/// A call accepted by the batcher and not yet answered.
struct pending_call {
  caf::response_promise promise;
  caf::strong_actor_ptr sender;
  std::uint64_t key = 0;
  std::string fn;
  std::string args;
  clock::time_point arrival;
  clock::time_point deadline = clock::time_point::max();
  bool status = false;
  bool running = false;
  std::uint32_t attempts = 0;
  std::uint32_t rank_sent = UINT32_MAX;
};

struct worker_slot {
  caf::actor handle;
  std::uint32_t slots = 1;
  std::uint32_t busy = 0;
  std::string node; ///< where it runs: "local" or a worker node's name
};

struct fn_queue {
  function_spec spec;
  std::deque<request_id> waiting;
  std::vector<worker_slot> workers;
  std::size_t status_waiting = 0; ///< waiting requests that want status events
  clock::time_point flush_at = clock::time_point::max();
  double avg_batch_ms = -1;       ///< moving average of batch durations
};

struct running_batch {
  std::string fn;
  std::vector<request_id> ids;
  caf::actor worker;
  clock::time_point started;
};

std::string join_list(const std::vector<std::string>& xs) {
  std::string out = "[";
  for (const auto& x : xs)
    out += (out.size() > 1 ? "," : "") + x;
  return out + "]";
}

/// What differs between two specs of one function ("" when nothing does).
std::string spec_conflict(const function_spec& have, const function_spec& offered) {
  std::string out;
  auto differ = [&out](const char* what, const std::string& a, const std::string& b) {
    if (a != b)
      out += std::string{out.empty() ? "" : ", "} + what + " " + a + " here, " + b + " offered";
  };
  differ("batch", have.batch ? "true" : "false", offered.batch ? "true" : "false");
  differ("inputs", join_list(have.inputs), join_list(offered.inputs));
  differ("outputs", join_list(have.outputs), join_list(offered.outputs));
  differ("max_batch_size", std::to_string(have.knob.max_batch_size),
         std::to_string(offered.knob.max_batch_size));
  differ("max_batch_delay_us", std::to_string(have.knob.max_batch_delay_us),
         std::to_string(offered.knob.max_batch_delay_us));
  differ("queue_limit", std::to_string(have.knob.queue_limit),
         std::to_string(offered.knob.queue_limit));
  return out;
}

class batcher : public caf::event_based_actor {
public:
  batcher(caf::actor_config& cfg, batcher_config conf)
    : caf::event_based_actor(cfg), conf_(conf) {
    set_down_handler([this](caf::down_msg& msg) { on_worker_down(msg.source); });
  }

  caf::behavior make_behavior() override {
    return {
      [this](call_atom, call_request& req) { on_call(std::move(req)); },
      [this](cancel_atom, std::uint64_t key) { on_cancel(key); },
      [this](expire_atom, request_id id) { on_expire(id); },
      [this](flush_atom, const std::string& fn) {
        if (auto q = find_queue(fn)) {
          q->flush_at = clock::time_point::max();
          dispatch(*q);
        }
      },
      [this](join_atom, function_spec& spec, caf::actor& worker,
             std::uint32_t slots) {
        return on_join(std::move(spec), worker, slots, "local");
      },
      [this](join_atom, function_spec& spec, caf::actor& worker,
             std::uint32_t slots, std::string& node) {
        return on_join(std::move(spec), worker, slots, std::move(node));
      },
      [this](leave_atom) { remove_worker(caf::actor_cast<caf::actor_addr>(current_sender())); },
      [this](info_atom) {
        std::vector<transport::function_info> out;
        for (const auto& [name, q] : queues_) {
          transport::function_info info{q.spec, {}};
          for (const auto& w : q.workers) {
            auto i = std::find_if(info.nodes.begin(), info.nodes.end(),
                                  [&](const auto& n) { return n.node == w.node; });
            if (i == info.nodes.end())
              info.nodes.push_back({w.node, w.slots});
            else
              i->slots += w.slots;
          }
          out.push_back(std::move(info));
        }
        return out;
      },
    };
  }

  void on_exit() override {
    for (auto& [id, r] : requests_)
      r.promise.deliver(
        call_reply{r.key, outcome::failure(errc::unavailable, "ferry is shutting down")});
    requests_.clear();
  }

private:
  // -- handlers ---------------------------------------------------------------

  void on_call(call_request&& req) {
    auto sender = current_sender(); // before make_response_promise() takes it
    auto promise = make_response_promise();
    auto reject = [&](errc code, std::string msg) {
      promise.deliver(call_reply{req.key, outcome::failure(code, std::move(msg))});
    };
    auto q = find_queue(req.fn);
    if (q == nullptr)
      return reject(errc::unknown_fn, "no function named '" + req.fn + "'");
    auto owner = owner_of(sender, req.key);
    if (owners_.count(owner) > 0)
      return reject(errc::duplicate_id,
                    "call id " + std::to_string(req.key) + " is still in flight");
    auto now = clock::now();
    auto deadline = req.deadline == 0 ? clock::time_point::max()
                                      : from_wire(req.deadline);
    if (deadline <= now)
      return reject(errc::deadline_exceeded, "deadline passed before the call was queued");
    if (q->workers.empty() && conf_.unavailable_without_workers)
      return reject(errc::unavailable, no_worker_message(*q));
    if (q->waiting.size() >= q->spec.knob.queue_limit)
      return reject(errc::queue_full,
                    "queue of '" + req.fn + "' is full ("
                      + std::to_string(q->spec.knob.queue_limit) + " waiting)");
    auto id = next_request_++;
    pending_call r;
    r.promise = std::move(promise);
    r.sender = std::move(sender);
    r.key = req.key;
    r.fn = std::move(req.fn);
    r.args = std::move(req.args);
    r.arrival = now;
    r.deadline = deadline;
    r.status = req.status && r.sender != nullptr;
    owners_.emplace(owner, id);
    if (deadline != clock::time_point::max())
      delayed_send(this, deadline - now, expire_atom::value, id);
    q->waiting.push_back(id);
    if (r.status) {
      ++q->status_waiting;
      r.rank_sent = static_cast<std::uint32_t>(q->waiting.size() - 1);
      send_queued(*q, r, r.rank_sent);
    }
    requests_.emplace(id, std::move(r));
    dispatch(*q);
  }

  void on_cancel(std::uint64_t key) {
    auto owner = owner_of(current_sender(), key);
    auto i = owners_.find(owner);
    if (i == owners_.end())
      return; // already answered, or never accepted
    auto id = i->second;
    auto& r = requests_.at(id);
    auto q = find_queue(r.fn);
    if (!r.running)
      unqueue(*q, id);
    finish(id, outcome::failure(errc::cancelled, "cancelled by the caller"));
    send_ranks(*q);
  }

  void on_expire(request_id id) {
    auto i = requests_.find(id);
    if (i == requests_.end() || i->second.running)
      return; // answered already, or running: a started batch is not recalled
    auto q = find_queue(i->second.fn);
    unqueue(*q, id);
    finish(id, outcome::failure(errc::deadline_exceeded,
                                "deadline passed while the call waited in the queue"));
    send_ranks(*q);
  }

  std::string on_join(function_spec spec, const caf::actor& worker,
                      std::uint32_t slots, std::string node) {
    if (!worker || slots == 0)
      return "a worker must have at least one slot";
    auto i = queues_.find(spec.name);
    if (i == queues_.end()) {
      auto name = spec.name;
      i = queues_.emplace(name, fn_queue{}).first;
      i->second.spec = std::move(spec);
    } else if (i->second.workers.empty()) {
      i->second.spec = std::move(spec); // nobody serves the old one any more
    } else if (auto conflict = spec_conflict(i->second.spec, spec); !conflict.empty()) {
      return "function '" + spec.name
             + "' is already served with a different signature or knobs: " + conflict;
    }
    monitor(worker);
    i->second.workers.push_back(worker_slot{worker, slots, 0, std::move(node)});
    dispatch(i->second);
    return {};
  }

  /// Stops dispatching to a worker; the batches it runs still finish.
  void remove_worker(const caf::actor_addr& addr) {
    for (auto& [name, q] : queues_) {
      auto& ws = q.workers;
      ws.erase(std::remove_if(ws.begin(), ws.end(),
                              [&](const worker_slot& w) { return w.handle.address() == addr; }),
               ws.end());
      if (ws.empty() && conf_.unavailable_without_workers)
        while (!q.waiting.empty()) {
          auto id = q.waiting.front();
          unqueue(q, id);
          finish(id, outcome::failure(errc::unavailable, no_worker_message(q)));
        }
    }
  }

  static std::string no_worker_message(const fn_queue& q) {
    return "no worker serves '" + q.spec.name + "' right now";
  }

  void on_worker_down(const caf::actor_addr& addr) {
    remove_worker(addr);
    // A worker that dies while running a batch never answers it (CAF bounces
    // only the requests still in its mailbox): treat its batches as failed,
    // newest first, so the re-queued requests keep their arrival order.
    std::vector<batch_id> lost;
    for (const auto& [bid, b] : running_)
      if (b.worker.address() == addr)
        lost.push_back(bid);
    std::sort(lost.rbegin(), lost.rend());
    for (auto bid : lost)
      on_batch_failed(bid, caf::make_error(caf::sec::request_receiver_down));
  }

  // -- batching ---------------------------------------------------------------

  fn_queue* find_queue(const std::string& name) {
    auto i = queues_.find(name);
    return i == queues_.end() ? nullptr : &i->second;
  }

  static worker_slot* free_worker(fn_queue& q) {
    for (auto& w : q.workers)
      if (w.busy < w.slots)
        return &w;
    return nullptr;
  }

  /// Starts every batch that can start now; arms the flush timer when a
  /// partial batch should wait for late arrivals.
  void dispatch(fn_queue& q) {
    auto now = clock::now();
    auto max = q.spec.knob.max_batch_size;
    auto delay = std::chrono::microseconds{q.spec.knob.max_batch_delay_us};
    while (!q.waiting.empty()) {
      auto w = free_worker(q);
      if (w == nullptr)
        break;
      if (q.waiting.size() < max && delay.count() > 0) {
        auto due = requests_.at(q.waiting.front()).arrival + delay;
        if (now < due) {
          arm_flush(q, due, now);
          break;
        }
      }
      std::vector<request_id> ids;
      std::vector<std::string> args;
      while (!q.waiting.empty() && ids.size() < max) {
        auto id = q.waiting.front();
        q.waiting.pop_front();
        auto& r = requests_.at(id);
        if (r.status)
          --q.status_waiting;
        if (r.deadline <= now) {
          finish(id, outcome::failure(errc::deadline_exceeded,
                                      "deadline passed while the call waited in the queue"));
          continue;
        }
        r.running = true;
        ids.push_back(id);
        args.push_back(r.args);
      }
      if (!ids.empty())
        start_batch(q, *w, std::move(ids), std::move(args), now);
    }
    send_ranks(q);
  }

  void arm_flush(fn_queue& q, clock::time_point due, clock::time_point now) {
    if (q.flush_at <= due)
      return; // a timer that fires no later is already armed
    q.flush_at = due;
    delayed_send(this, due - now, flush_atom::value, q.spec.name);
  }

  void start_batch(fn_queue& q, worker_slot& w, std::vector<request_id> ids,
                   std::vector<std::string> args, clock::time_point now) {
    ++w.busy;
    auto bid = next_batch_++;
    for (auto id : ids) {
      auto& r = requests_.at(id);
      if (r.status) {
        status_event ev;
        ev.key = r.key;
        ev.what = stage::started;
        ev.batch_size = static_cast<std::uint32_t>(ids.size());
        send(caf::actor_cast<caf::actor>(r.sender), status_atom::value, ev);
      }
    }
    running_.emplace(bid, running_batch{q.spec.name, std::move(ids), w.handle, now});
    request(w.handle, caf::infinite, run_atom::value, std::move(args))
      .then([this, bid](std::vector<outcome>& outs) { on_batch_done(bid, outs); },
            [this, bid](caf::error& err) { on_batch_failed(bid, err); });
  }

  /// Removes the finished batch from the books and frees its worker's slot.
  std::optional<running_batch> take_batch(batch_id bid) {
    auto i = running_.find(bid);
    if (i == running_.end())
      return std::nullopt;
    auto b = std::move(i->second);
    running_.erase(i);
    if (auto q = find_queue(b.fn))
      for (auto& w : q->workers)
        if (w.handle == b.worker && w.busy > 0) {
          --w.busy;
          break;
        }
    return b;
  }

  void on_batch_done(batch_id bid, std::vector<outcome>& outs) {
    auto b = take_batch(bid);
    if (!b)
      return;
    auto& q = *find_queue(b->fn);
    auto ms = std::chrono::duration<double, std::milli>(clock::now() - b->started).count();
    q.avg_batch_ms = q.avg_batch_ms < 0 ? ms : 0.8 * q.avg_batch_ms + 0.2 * ms;
    for (std::size_t i = 0; i < b->ids.size(); ++i) {
      if (requests_.count(b->ids[i]) == 0)
        continue; // cancelled while running: its result is discarded
      if (outs.size() == b->ids.size())
        finish(b->ids[i], std::move(outs[i]));
      else
        finish(b->ids[i],
               outcome::failure(errc::worker_lost,
                                "worker answered " + std::to_string(outs.size())
                                  + " outcomes for a batch of "
                                  + std::to_string(b->ids.size())));
    }
    dispatch(q);
  }

  void on_batch_failed(batch_id bid, const caf::error& err) {
    auto b = take_batch(bid);
    if (!b)
      return;
    auto& q = *find_queue(b->fn);
    auto why = to_string(err);
    // Back to the front of the queue, in their original order.
    for (auto i = b->ids.rbegin(); i != b->ids.rend(); ++i) {
      auto r = requests_.find(*i);
      if (r == requests_.end())
        continue;
      if (++r->second.attempts > conf_.retry_budget) {
        finish(*i, outcome::failure(errc::worker_lost,
                                    "worker lost (" + why + "); retries exhausted"));
        continue;
      }
      r->second.running = false;
      r->second.rank_sent = UINT32_MAX;
      if (r->second.status)
        ++q.status_waiting;
      q.waiting.push_front(*i);
    }
    dispatch(q);
  }

  // -- bookkeeping ------------------------------------------------------------

  /// Calls are named by their sender and the sender's key. Senders are local
  /// actors (remote nodes reach the batcher through local actors).
  using owner_key = std::pair<caf::actor_id, std::uint64_t>;

  static owner_key owner_of(const caf::strong_actor_ptr& sender, std::uint64_t key) {
    return {sender ? sender->id() : caf::invalid_actor_id, key};
  }

  void unqueue(fn_queue& q, request_id id) {
    auto i = std::find(q.waiting.begin(), q.waiting.end(), id);
    if (i == q.waiting.end())
      return;
    q.waiting.erase(i);
    if (requests_.at(id).status)
      --q.status_waiting;
  }

  /// Sends the one terminal reply of a request and forgets it.
  void finish(request_id id, outcome result) {
    auto i = requests_.find(id);
    if (i == requests_.end())
      return;
    i->second.promise.deliver(call_reply{i->second.key, std::move(result)});
    owners_.erase(owner_of(i->second.sender, i->second.key));
    requests_.erase(i);
  }

  /// Tells each waiting request that wants status events its rank, when it
  /// changed since the last event.
  void send_ranks(fn_queue& q) {
    if (q.status_waiting == 0)
      return;
    std::uint32_t rank = 0;
    for (auto id : q.waiting) {
      auto& r = requests_.at(id);
      if (r.status && r.rank_sent != rank) {
        r.rank_sent = rank;
        send_queued(q, r, rank);
      }
      ++rank;
    }
  }

  void send_queued(const fn_queue& q, const pending_call& r, std::uint32_t rank) {
    status_event ev;
    ev.key = r.key;
    ev.what = stage::queued;
    ev.rank = rank;
    ev.queue_size = static_cast<std::uint32_t>(q.waiting.size());
    ev.eta_ms = eta_ms(q, rank);
    send(caf::actor_cast<caf::actor>(r.sender), status_atom::value, ev);
  }

  /// Estimated wait for the request at `rank`, from measured batch durations.
  static std::int64_t eta_ms(const fn_queue& q, std::uint32_t rank) {
    if (q.avg_batch_ms < 0)
      return -1;
    std::uint64_t slots = 0;
    for (const auto& w : q.workers)
      slots += w.slots;
    slots = std::max<std::uint64_t>(slots, 1);
    auto batches = rank / q.spec.knob.max_batch_size + 1;
    auto waves = (batches + slots - 1) / slots;
    return static_cast<std::int64_t>(waves * q.avg_batch_ms);
  }

  batcher_config conf_;
  std::map<std::string, fn_queue> queues_;
  std::unordered_map<request_id, pending_call> requests_;
  std::map<owner_key, request_id> owners_;
  std::unordered_map<batch_id, running_batch> running_;
  request_id next_request_ = 1;
  batch_id next_batch_ = 1;
};

} // namespace

caf::actor spawn_batcher(caf::actor_system& sys, batcher_config cfg) {
  return sys.spawn<batcher>(cfg);
}

} // namespace ferry::actors
