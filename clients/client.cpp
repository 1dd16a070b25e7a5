#include "clients/client.hpp"

#include "transport/dealer.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace ferry::clients {

using transport::errc;
using transport::server_reply;
using clock = std::chrono::steady_clock;

namespace internal {

/// The shared state of one job. The fields under `mtx` are read by any
/// thread; the rest belong to the I/O thread once the job is handed over.
struct job_state {
  std::uint64_t id = 0;
  std::string packed_id; ///< the id as sent and echoed; the key of replies
  std::function<void(const job_status&)> on_status;

  std::mutex mtx;
  std::condition_variable cv;
  job_status status;
  std::optional<server_reply> reply;
  clock::time_point sent_at;
  clock::time_point done_at;

  // I/O thread only.
  std::string body;                     ///< the request, until sent
  std::optional<std::size_t> target;    ///< a link it must go to, else any
  std::optional<std::size_t> sent_link; ///< the link it went out on
};

/// What callers hand the I/O thread.
struct command {
  enum kind { submit, cancel, abandon };
  kind what = submit;
  std::shared_ptr<job_state> job;
};

/// A message waiting for a link to take it: a request, or the cancel of one.
struct outgoing {
  std::shared_ptr<job_state> job;
  bool cancel = false;
};

/// Owned by the client, reached weakly by its jobs (for cancel). The I/O
/// thread owns the dealer (other threads only wake() it) and the members
/// marked "I/O thread only".
struct client_core {
  explicit client_core(const std::vector<std::string>& endpoints) {
    for (const auto& ep : endpoints) {
      std::string err;
      if (!dealer.connect(ep, &err))
        throw std::invalid_argument(err);
    }
  }

  ~client_core() {
    if (io.joinable())
      close();
  }

  void start() {
    io = std::thread{[this] { run(); }};
    io_id = io.get_id();
  }

  void close() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      closed = true;
    }
    dealer.wake();
    io.join();
  }

  /// Hands a command to the I/O thread. A job submitted after close() ends
  /// at once with `unavailable`.
  void post(command::kind what, std::shared_ptr<job_state> job) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!closed) {
        inbox.push_back(command{what, std::move(job)});
        dealer.wake();
        return;
      }
    }
    if (what == command::submit)
      complete(*job, local_error(*job, errc::unavailable, "the client is closed"), true);
  }

  [[nodiscard]] bool on_io_thread() const noexcept {
    return std::this_thread::get_id() == io_id.load();
  }

  // -- the I/O thread ---------------------------------------------------------

  void run() {
    for (;;) {
      dealer.wait(std::chrono::milliseconds{-1});
      while (auto ev = dealer.try_link_event())
        if (!ev->up)
          on_link_down(ev->link);
      // Bounded per round so requests keep leaving under a flood of replies.
      for (int i = 0; i < 256; ++i) {
        auto msg = dealer.try_receive();
        if (!msg)
          break;
        on_message(*msg);
      }
      std::vector<command> cmds;
      bool stopping = false;
      {
        std::lock_guard<std::mutex> guard{mtx};
        cmds.swap(inbox);
        stopping = closed;
      }
      for (auto& c : cmds)
        on_command(c);
      if (stopping)
        break;
      flush();
    }
    // Nobody will read what the gateways still hold for this client: ask
    // them to cancel it (the sockets' linger gives these a moment to leave).
    auto left = std::move(open);
    open.clear();
    outbox.clear();
    for (auto& [key, job] : left) {
      if (job->sent_link)
        (void) dealer.try_send(*job->sent_link, transport::encode_cancel(job->packed_id));
      complete(*job, local_error(*job, errc::unavailable, "the client was closed"), true);
    }
  }

  void on_command(command& c) {
    auto& job = c.job;
    switch (c.what) {
      case command::submit:
        open.emplace(job->packed_id, job);
        outbox.push_back(outgoing{job, false});
        break;
      case command::cancel:
        if (open.count(job->packed_id) == 0)
          break; // ended already
        if (!job->sent_link)
          finish(job, local_error(*job, errc::cancelled, "cancelled before it was sent"), true);
        else
          outbox.push_back(outgoing{job, true});
        break;
      case command::abandon:
        if (open.count(job->packed_id) > 0)
          finish(job, local_error(*job, errc::unavailable, "the caller stopped waiting"), true);
        break;
    }
  }

  /// Sends what links will take now, in order. A request that no link takes
  /// waits for one (wait() watches the blocked links for room); requests and
  /// cancels of jobs that ended meanwhile are dropped.
  void flush() {
    std::deque<outgoing> kept;
    bool any_blocked = false; // no link takes an untargeted request now
    for (auto& out : outbox) {
      auto& job = *out.job;
      if (open.count(job.packed_id) == 0)
        continue;
      if (out.cancel) {
        if (!dealer.try_send(*job.sent_link, transport::encode_cancel(job.packed_id)))
          kept.push_back(std::move(out));
        continue;
      }
      std::optional<std::size_t> link;
      if (job.target)
        link = dealer.try_send(*job.target, job.body) ? job.target : std::nullopt;
      else if (!any_blocked)
        link = dealer.try_send_any(job.body);
      if (!link) {
        any_blocked = any_blocked || !job.target;
        kept.push_back(std::move(out));
        continue;
      }
      job.sent_link = link;
      std::string{}.swap(job.body);
      std::lock_guard<std::mutex> guard{job.mtx};
      job.sent_at = clock::now();
      job.status.stage = job_stage::sent;
      job.status.gateway = dealer.endpoint(*link);
    }
    outbox.swap(kept);
  }

  void on_message(const transport::dealt_message& msg) {
    auto rep = transport::decode_reply(msg.body);
    if (!rep)
      return; // not a reply we can read: nothing to attribute it to
    auto i = open.find(rep->id);
    if (i == open.end())
      return; // a late reply to a job that ended here already
    auto job = i->second;
    if (rep->type != "status") {
      finish(job, std::move(*rep), false);
      return;
    }
    job_status st;
    {
      std::lock_guard<std::mutex> guard{job->mtx};
      if (rep->stage == "queued") {
        job->status.stage = job_stage::queued;
        job->status.rank = rep->rank;
        job->status.queue_size = rep->queue_size;
        job->status.eta_ms = rep->eta_ms;
      } else if (rep->stage == "started") {
        job->status.stage = job_stage::started;
        job->status.batch_size = rep->batch_size;
      } else {
        return; // a stage this client does not know
      }
      st = job->status;
    }
    if (job->on_status) {
      try {
        job->on_status(st);
      } catch (...) {
        // A callback's failure is its own; the job goes on.
      }
    }
  }

  /// The gateway behind `link` can no longer answer what it was sent: a
  /// reconnection is a new client to it.
  void on_link_down(std::size_t link) {
    std::vector<std::shared_ptr<job_state>> lost;
    for (auto& [key, job] : open)
      if (job->sent_link == link)
        lost.push_back(job);
    for (auto& job : lost)
      finish(job, local_error(*job, errc::unavailable,
                              "lost the connection to " + dealer.endpoint(link)), true);
  }

  void finish(const std::shared_ptr<job_state>& job, server_reply rep, bool local) {
    open.erase(job->packed_id);
    complete(*job, std::move(rep), local);
  }

  /// An error reply made up here, for a job no gateway will answer.
  static server_reply local_error(const job_state& job, errc code, std::string msg) {
    server_reply rep;
    rep.type = "error";
    rep.id = job.packed_id;
    rep.code = code;
    rep.message = std::move(msg);
    return rep;
  }

  static void complete(job_state& job, server_reply rep, bool local) {
    {
      std::lock_guard<std::mutex> guard{job.mtx};
      if (job.reply)
        return;
      job.status.ended_locally = local;
      job.reply = std::move(rep);
      job.done_at = clock::now();
      job.status.stage = job_stage::done;
    }
    job.cv.notify_all();
  }

  transport::dealer dealer;
  std::atomic<std::uint64_t> next_id{1};

  std::mutex mtx;
  std::vector<command> inbox;
  bool closed = false;

  // I/O thread only.
  std::unordered_map<std::string, std::shared_ptr<job_state>> open;
  std::deque<outgoing> outbox;

  std::atomic<std::thread::id> io_id;
  std::thread io;
};

} // namespace internal

namespace {

std::shared_ptr<internal::job_state> new_job(internal::client_core& core) {
  auto st = std::make_shared<internal::job_state>();
  st->id = core.next_id++;
  st->packed_id = transport::pack(st->id);
  return st;
}

} // namespace

std::string_view to_string(job_stage s) {
  switch (s) {
    case job_stage::submitted: return "submitted";
    case job_stage::sent: return "sent";
    case job_stage::queued: return "queued";
    case job_stage::started: return "started";
    case job_stage::done: return "done";
  }
  return "?";
}

// -- job ----------------------------------------------------------------------

std::uint64_t job::id() const noexcept {
  return state_->id;
}

job_status job::status() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->status;
}

std::optional<server_reply> job::wait_for(std::chrono::milliseconds timeout) const {
  if (auto core = core_.lock(); timeout.count() != 0 && core && core->on_io_thread())
    throw std::logic_error("waiting for a job on the client's I/O thread "
                           "(in a status callback) would deadlock");
  std::unique_lock<std::mutex> guard{state_->mtx};
  if (timeout.count() < 0)
    state_->cv.wait(guard, [this] { return state_->reply.has_value(); });
  else if (!state_->cv.wait_for(guard, timeout, [this] { return state_->reply.has_value(); }))
    return std::nullopt;
  return state_->reply;
}

std::optional<server_reply> job::result(std::chrono::milliseconds timeout) const {
  return wait_for(std::max(timeout, std::chrono::milliseconds{0}));
}

server_reply job::result() const {
  return *wait_for(std::chrono::milliseconds{-1});
}

void job::cancel() const {
  if (auto core = core_.lock())
    core->post(internal::command::cancel, state_);
}

// -- client -------------------------------------------------------------------

client::client(client_options opts)
  : endpoints_(std::move(opts.endpoints)), call_timeout_(opts.call_timeout) {
  if (endpoints_.empty())
    throw std::invalid_argument("a client needs at least one gateway endpoint");
  core_ = std::make_shared<internal::client_core>(endpoints_);
  core_->start();
}

client::client(std::string endpoint)
  : client(client_options{{std::move(endpoint)}, std::chrono::milliseconds{0}}) {}

client::~client() {
  core_->close();
}

job client::submit_packed(std::string fn, std::string packed_args, call_options opts) {
  auto st = new_job(*core_);
  std::int64_t deadline_ms = -1;
  if (opts.deadline)
    deadline_ms = std::max<std::int64_t>(opts.deadline->count(), 0);
  bool status = opts.status || static_cast<bool>(opts.on_status);
  st->body = transport::encode_call(st->packed_id, fn, packed_args, deadline_ms, status);
  st->on_status = std::move(opts.on_status);
  core_->post(internal::command::submit, st);
  return job{std::move(st), core_};
}

std::optional<server_info> client::info(std::chrono::milliseconds timeout) {
  auto st = new_job(*core_);
  st->body = transport::encode_info_request(st->packed_id);
  core_->post(internal::command::submit, st);
  job j{st, core_};
  auto rep = j.result(timeout);
  if (!rep) {
    core_->post(internal::command::abandon, st);
    return std::nullopt;
  }
  if (rep->type == "error")
    throw call_error(rep->code, rep->message);
  if (rep->type != "info")
    throw call_error(errc::bad_request, "unexpected reply of type '" + rep->type + "'");
  return server_info{std::move(rep->version), std::move(rep->functions),
                     std::move(rep->nodes)};
}

std::optional<std::chrono::nanoseconds> client::ping(std::chrono::milliseconds timeout) {
  auto st = new_job(*core_);
  st->body = transport::encode_ping(st->packed_id);
  core_->post(internal::command::submit, st);
  job j{st, core_};
  auto rep = j.result(timeout);
  if (!rep) {
    core_->post(internal::command::abandon, st);
    return std::nullopt;
  }
  if (rep->type != "pong")
    return std::nullopt;
  std::lock_guard<std::mutex> guard{st->mtx};
  return st->done_at - st->sent_at;
}

std::vector<std::optional<std::chrono::nanoseconds>>
client::ping_each(std::chrono::milliseconds timeout) {
  std::vector<std::shared_ptr<internal::job_state>> pings;
  for (std::size_t link = 0; link < endpoints_.size(); ++link) {
    auto st = new_job(*core_);
    st->body = transport::encode_ping(st->packed_id);
    st->target = link;
    core_->post(internal::command::submit, st);
    pings.push_back(std::move(st));
  }
  auto until = clock::now() + timeout;
  std::vector<std::optional<std::chrono::nanoseconds>> out;
  for (auto& st : pings) {
    job j{st, core_};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    auto rep = j.result(left);
    if (!rep)
      core_->post(internal::command::abandon, st);
    if (rep && rep->type == "pong") {
      std::lock_guard<std::mutex> guard{st->mtx};
      out.emplace_back(st->done_at - st->sent_at);
    } else {
      out.emplace_back(std::nullopt);
    }
  }
  return out;
}

} // namespace ferry::clients
