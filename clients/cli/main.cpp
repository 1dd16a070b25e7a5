// ferry: the command-line client. Calls a function served by ferry gateways,
// lists what they serve, or checks that they answer.
//
//   ferry call trim_words Adam 3 --endpoint tcp://127.0.0.1:5555
//   ferry info
//   ferry ping --endpoint tcp://10.0.0.1:5555 --endpoint tcp://10.0.0.2:5555
//
// Exit codes: 0 success, 1 the call ended with an error reply, 2 usage error,
// 3 no gateway reachable or no reply in time.

#include "clients/client.hpp"
#include "clients/literal.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace ferry;
using std::chrono::milliseconds;

constexpr int exit_ok = 0;
constexpr int exit_call_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

constexpr const char* default_endpoint = "tcp://127.0.0.1:5555";
constexpr milliseconds default_call_timeout{600'000};
constexpr milliseconds default_short_timeout{5'000};

const char* const general_help =
  "usage: ferry <command> [options]\n"
  "\n"
  "commands:\n"
  "  call FN [ARG...]  call function FN with one request's arguments\n"
  "  info              list the functions the server serves\n"
  "  ping              check that every gateway answers\n"
  "  help [COMMAND]    show this help or a command's\n"
  "\n"
  "options (every command):\n"
  "  --endpoint E      a gateway to connect to; repeat for several (calls go\n"
  "                    round robin to those connected; default "
  "tcp://127.0.0.1:5555)\n"
  "  --timeout-ms N    give up waiting for the reply after N ms (default\n"
  "                    600000 for call, 5000 for info and ping)\n"
  "  -h, --help        show help\n"
  "\n"
  "Exit codes: 0 success, 1 the call ended with an error, 2 usage error,\n"
  "3 no gateway reachable or no reply in time. Errors go to stderr as\n"
  "'error CODE: message'.\n";

const char* const call_help =
  "usage: ferry call FN [ARG...] [--endpoint E]... [--deadline-ms N] [--status]\n"
  "                  [--timeout-ms N]\n"
  "\n"
  "Calls FN with the arguments of ONE request (for a batch function too:\n"
  "ferry batches concurrent requests itself), e.g. `ferry call trim_words Adam 3`.\n"
  "Prints each output on its own line, JSON-like.\n"
  "\n"
  "ARG is a JSON-like literal: 42, -7, 1.5, 2e3, true, false, null,\n"
  "\"a string\" (JSON escapes), b\"00ff\" (binary), [1, \"a\"], {\"k\": 1}.\n"
  "Anything else is taken as a string: Adam, 007, hello-world. Quote to force\n"
  "a string: '\"42\"'. Put -- before arguments that start with --.\n"
  "\n"
  "options:\n"
  "  --endpoint E      gateway to connect to (repeatable; default "
  "tcp://127.0.0.1:5555)\n"
  "  --deadline-ms N   the call's budget at the server: still waiting after\n"
  "                    N ms, it ends with deadline_exceeded and never runs\n"
  "  --status          print status events (queued, started) to stderr\n"
  "  --timeout-ms N    stop waiting after N ms, cancel the call and exit 3\n"
  "                    (default 600000)\n";

const char* const info_help =
  "usage: ferry info [--endpoint E]... [--timeout-ms N]\n"
  "\n"
  "Prints the server's version and one line per function it serves:\n"
  "  NAME(INPUT TYPES) -> OUTPUT TYPES  [knobs]\n"
  "For a batch function the types are those of one request's items.\n"
  "\n"
  "options:\n"
  "  --endpoint E      gateway to ask (default tcp://127.0.0.1:5555)\n"
  "  --timeout-ms N    wait at most N ms for the answer (default 5000)\n";

const char* const ping_help =
  "usage: ferry ping [--endpoint E]... [--timeout-ms N]\n"
  "\n"
  "Pings every gateway given and prints its round-trip time; exits 3 when\n"
  "one does not answer.\n"
  "\n"
  "options:\n"
  "  --endpoint E      gateway to ping (repeatable; default "
  "tcp://127.0.0.1:5555)\n"
  "  --timeout-ms N    wait at most N ms for all answers (default 5000)\n";

struct usage_error {
  std::string message;
};

struct command_line {
  std::string command;
  std::vector<std::string> positional; ///< after the command
  std::vector<std::string> endpoints;
  std::optional<milliseconds> timeout;
  std::optional<milliseconds> deadline;
  bool status = false;
  bool help = false;
};

milliseconds parse_ms(const std::string& option, std::string_view text, bool allow_zero) {
  long long n = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || n < 0
      || (n == 0 && !allow_zero))
    throw usage_error{option + " needs a " + (allow_zero ? "non-negative" : "positive")
                      + " number of milliseconds, got '" + std::string{text} + "'"};
  return milliseconds{n};
}

command_line parse_command_line(int argc, char** argv) {
  command_line cl;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-' || (arg[1] != '-' && arg != "-h")) {
      if (cl.command.empty())
        cl.command = arg;
      else
        cl.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      cl.help = true;
      continue;
    }
    if (arg == "--status") {
      cl.status = true;
      continue;
    }
    std::string name = arg;
    std::optional<std::string> val;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      val = arg.substr(eq + 1);
    }
    if (name != "--endpoint" && name != "--timeout-ms" && name != "--deadline-ms")
      throw usage_error{"unknown option " + name};
    if (!val) {
      if (i + 1 >= argc)
        throw usage_error{name + " needs a value"};
      val = argv[++i];
    }
    if (name == "--endpoint") {
      if (val->empty())
        throw usage_error{"--endpoint needs a value"};
      cl.endpoints.push_back(*val);
    } else if (name == "--timeout-ms") {
      cl.timeout = parse_ms(name, *val, false);
    } else {
      cl.deadline = parse_ms(name, *val, true);
    }
  }
  if (cl.endpoints.empty())
    cl.endpoints.emplace_back(default_endpoint);
  return cl;
}

void print_error(std::string_view code, const std::string& message) {
  std::fprintf(stderr, "error %.*s: %s\n", static_cast<int>(code.size()), code.data(),
               message.c_str());
}

std::string join(const std::vector<std::string>& xs, const char* sep) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty())
      out += sep;
    out += x;
  }
  return out;
}

std::string format_ms(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f ms",
                std::chrono::duration<double, std::milli>(d).count());
  return buf;
}

void print_status(const clients::job_status& st) {
  if (st.stage == clients::job_stage::queued) {
    auto eta = st.eta_ms < 0 ? std::string{"?"} : std::to_string(st.eta_ms);
    std::fprintf(stderr, "status queued rank=%u queue_size=%u eta_ms=%s\n", st.rank,
                 st.queue_size, eta.c_str());
  } else if (st.stage == clients::job_stage::started) {
    std::fprintf(stderr, "status started batch_size=%u\n", st.batch_size);
  }
}

/// Waits until some gateway answers a ping, so that "nobody there" is told
/// apart from a slow call. Prints the error and returns false otherwise.
bool reach_gateway(clients::client& c, milliseconds timeout) {
  if (c.ping(timeout))
    return true;
  print_error("unreachable", "no gateway answered at " + join(c.endpoints(), ", ")
                               + " within " + std::to_string(timeout.count()) + " ms");
  return false;
}

int run_call(const command_line& cl) {
  if (cl.positional.empty())
    throw usage_error{"call needs a function name"};
  const auto& fn = cl.positional.front();
  transport::value::array args;
  for (std::size_t i = 1; i < cl.positional.size(); ++i) {
    std::string err;
    auto v = clients::parse_argument(cl.positional[i], &err);
    if (!v)
      throw usage_error{"argument " + std::to_string(i) + " ('" + cl.positional[i]
                        + "'): " + err};
    args.push_back(std::move(*v));
  }
  auto timeout = cl.timeout.value_or(default_call_timeout);
  clients::client c{clients::client_options{cl.endpoints, milliseconds{0}}};
  if (!reach_gateway(c, std::min(timeout, default_short_timeout)))
    return exit_unreachable;
  clients::call_options opts;
  opts.deadline = cl.deadline;
  if (cl.status)
    opts.on_status = print_status;
  auto j = c.submit_packed(fn, transport::pack(transport::value{std::move(args)}),
                           std::move(opts));
  auto rep = j.result(timeout);
  if (!rep) {
    j.cancel();
    print_error("timeout", "no reply within " + std::to_string(timeout.count())
                             + " ms (the call was cancelled)");
    return exit_unreachable;
  }
  if (rep->type == "error") {
    print_error(transport::to_string(rep->code), rep->message);
    return j.status().ended_locally && rep->code == transport::errc::unavailable
             ? exit_unreachable
             : exit_call_error;
  }
  std::string err;
  auto outputs = transport::unpack_value(rep->data, &err);
  auto row = outputs ? outputs->get_if<transport::value::array>() : nullptr;
  if (rep->type != "result" || row == nullptr) {
    print_error("bad_output", "the reply holds no output list"
                                + (err.empty() ? std::string{} : " (" + err + ")"));
    return exit_call_error;
  }
  for (const auto& out : *row)
    std::printf("%s\n", transport::to_string(out).c_str());
  return exit_ok;
}

std::string describe(const transport::function_spec& f) {
  auto line = f.name + "(" + join(f.inputs, ", ") + ") -> ";
  line += f.outputs.size() == 1 ? f.outputs.front() : "(" + join(f.outputs, ", ") + ")";
  char knobs[160];
  std::snprintf(knobs, sizeof(knobs),
                "  [%s max_batch_size=%u max_batch_delay_ms=%g concurrency=%u queue_limit=%u]",
                f.batch ? "batch" : "plain", f.knob.max_batch_size,
                static_cast<double>(f.knob.max_batch_delay_us) / 1000.0,
                f.knob.concurrency, f.knob.queue_limit);
  return line + knobs;
}

int run_info(const command_line& cl) {
  if (!cl.positional.empty())
    throw usage_error{"info takes no arguments"};
  auto timeout = cl.timeout.value_or(default_short_timeout);
  clients::client c{clients::client_options{cl.endpoints, milliseconds{0}}};
  std::optional<clients::server_info> info;
  try {
    info = c.info(timeout);
  } catch (const clients::call_error& e) {
    print_error(transport::to_string(e.code()), e.message());
    return exit_call_error;
  }
  if (!info) {
    print_error("unreachable", "no gateway answered at " + join(c.endpoints(), ", ")
                                 + " within " + std::to_string(timeout.count()) + " ms");
    return exit_unreachable;
  }
  std::printf("%s\n", info->version.c_str());
  for (std::size_t i = 0; i < info->functions.size(); ++i) {
    std::string where;
    if (i < info->nodes.size())
      for (const auto& n : info->nodes[i])
        where += (where.empty() ? "" : ", ") + n.node + " x" + std::to_string(n.slots);
    std::printf("%s\n    runs on: %s\n", describe(info->functions[i]).c_str(),
                where.empty() ? "no worker right now" : where.c_str());
  }
  return exit_ok;
}

int run_ping(const command_line& cl) {
  if (!cl.positional.empty())
    throw usage_error{"ping takes no arguments"};
  auto timeout = cl.timeout.value_or(default_short_timeout);
  clients::client c{clients::client_options{cl.endpoints, milliseconds{0}}};
  auto rtts = c.ping_each(timeout);
  int rc = exit_ok;
  for (std::size_t i = 0; i < rtts.size(); ++i) {
    if (rtts[i]) {
      std::printf("pong from %s in %s\n", c.endpoints()[i].c_str(),
                  format_ms(*rtts[i]).c_str());
    } else {
      print_error("unreachable", "no pong from " + c.endpoints()[i] + " within "
                                   + std::to_string(timeout.count()) + " ms");
      rc = exit_unreachable;
    }
  }
  std::fflush(stdout);
  return rc;
}

const char* help_for(const std::string& command) {
  if (command == "call")
    return call_help;
  if (command == "info")
    return info_help;
  if (command == "ping")
    return ping_help;
  return nullptr;
}

} // namespace

int main(int argc, char** argv) {
  try {
    auto cl = parse_command_line(argc, argv);
    if (cl.command == "help") {
      auto text = cl.positional.empty() ? general_help : help_for(cl.positional.front());
      if (text == nullptr)
        throw usage_error{"no command named '" + cl.positional.front() + "'"};
      std::fputs(text, stdout);
      return exit_ok;
    }
    if (cl.help) {
      auto text = help_for(cl.command);
      std::fputs(text != nullptr ? text : general_help, stdout);
      return exit_ok;
    }
    if (cl.command.empty())
      throw usage_error{"no command given"};
    if (cl.command != "call" && (cl.deadline || cl.status))
      throw usage_error{"--deadline-ms and --status apply to call only"};
    if (cl.command == "call")
      return run_call(cl);
    if (cl.command == "info")
      return run_info(cl);
    if (cl.command == "ping")
      return run_ping(cl);
    throw usage_error{"unknown command '" + cl.command + "'"};
  } catch (const usage_error& e) {
    std::fprintf(stderr, "ferry: %s (try 'ferry --help')\n", e.message.c_str());
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    // A client refuses an endpoint ZeroMQ cannot parse.
    std::fprintf(stderr, "ferry: %s\n", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry: %s\n", e.what());
    return exit_unreachable;
  }
}
