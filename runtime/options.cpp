#include "runtime/options.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ferry::runtime {

namespace {

bool parse_size(const std::string& text, std::size_t& out) {
  if (text.empty() || text[0] == '-')
    return false;
  errno = 0;
  char* end = nullptr;
  auto n = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  out = static_cast<std::size_t>(n);
  return true;
}

std::string usage(const std::string& program, const std::vector<extra_option>& extra) {
  std::ostringstream out;
  out << "usage: " << program << " [OPTIONS]\n\n"
      << "Serves this program's functions over ferry's client protocol.\n\n"
      << "options:\n"
      << "  --listen ENDPOINT         endpoint to bind, repeatable (default\n"
      << "                            tcp://127.0.0.1:5555; tcp://HOST:* picks a port)\n"
      << "  --knob FN.KNOB=VALUE      override a function's knob: max_batch_size,\n"
      << "                            max_batch_delay_ms, concurrency, queue_limit\n"
      << "  --max-message-size BYTES  larger messages get too_large (default 4194304)\n"
      << "  --threads N               actor scheduler threads (default: one per core)\n"
      << "  --drain-timeout-ms N      on SIGTERM/SIGINT, wait this long for accepted\n"
      << "                            calls to finish (default 30000)\n"
      << "  --cluster ENDPOINT        also act as a cluster head: worker nodes join\n"
      << "                            here (repeatable)\n"
      << "  --join ENDPOINT           run as a worker node of the head at ENDPOINT\n"
      << "                            instead of serving clients\n"
      << "  --node-name NAME          this worker node's name (default HOST:PID)\n"
      << "  --heartbeat-ms N          cluster heartbeat period (default 250)\n"
      << "  --heartbeat-timeout-ms N  a node or head silent this long is lost\n"
      << "                            (default 1500)\n"
      << "  --unavailable-without-workers BOOL\n"
      << "                            answer calls of a function no node serves\n"
      << "                            right now with unavailable (default false:\n"
      << "                            they wait up to their deadline)\n"
      << "  --config FILE             read options from FILE, one 'name = value' per line\n"
      << "  --help                    show this help\n";
  for (const auto& o : extra) {
    std::string left = "--" + o.name + " " + o.value_name;
    out << "  " << left << std::string(left.size() < 26 ? 26 - left.size() : 1, ' ')
        << o.help << "\n";
  }
  return out.str();
}

/// Applies one option; returns an error message or "".
std::string apply(server_options& opts, const std::string& name, const std::string& value,
                  const std::vector<extra_option>& extra) {
  if (name == "listen") {
    opts.listen.push_back(value);
  } else if (name == "knob") {
    auto dot = value.find('.');
    auto eq = value.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot == 0 || eq < dot + 2)
      return "--knob expects FN.KNOB=VALUE, got '" + value + "'";
    opts.knobs.push_back({value.substr(0, dot), value.substr(dot + 1, eq - dot - 1),
                          value.substr(eq + 1)});
  } else if (name == "max-message-size") {
    if (!parse_size(value, opts.max_message_size) || opts.max_message_size == 0)
      return "--max-message-size expects a positive number of bytes, got '" + value + "'";
  } else if (name == "threads") {
    if (!parse_size(value, opts.threads))
      return "--threads expects a number, got '" + value + "'";
  } else if (name == "drain-timeout-ms" || name == "heartbeat-ms"
             || name == "heartbeat-timeout-ms") {
    std::size_t ms = 0;
    if (!parse_size(value, ms) || (ms == 0 && name != "drain-timeout-ms"))
      return "--" + name + " expects a number of milliseconds, got '" + value + "'";
    (name == "drain-timeout-ms" ? opts.drain_timeout
     : name == "heartbeat-ms"   ? opts.heartbeat
                                : opts.heartbeat_timeout) = std::chrono::milliseconds{ms};
  } else if (name == "cluster") {
    opts.cluster.push_back(value);
  } else if (name == "join") {
    opts.join = value;
  } else if (name == "node-name") {
    opts.node_name = value;
  } else if (name == "unavailable-without-workers") {
    if (value != "true" && value != "false")
      return "--unavailable-without-workers expects true or false, got '" + value + "'";
    opts.unavailable_without_workers = value == "true";
  } else {
    for (const auto& o : extra)
      if (o.name == name)
        return o.set(value);
    return "unknown option --" + name;
  }
  return {};
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string apply_file(server_options& opts, const std::string& path,
                       const std::vector<extra_option>& extra) {
  std::ifstream in{path};
  if (!in)
    return "cannot read config file '" + path + "'";
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto hash = line.find('#');
    line = trim(line.substr(0, hash));
    if (line.empty())
      continue;
    auto sep = line.find_first_of("= \t");
    if (sep == std::string::npos)
      return path + ":" + std::to_string(n) + ": expected 'name = value'";
    auto name = trim(line.substr(0, sep));
    auto value = trim(line.substr(sep + 1));
    if (!value.empty() && value[0] == '=')
      value = trim(value.substr(1));
    if (name == "config")
      return path + ":" + std::to_string(n) + ": config files do not nest";
    if (auto err = apply(opts, name, value, extra); !err.empty())
      return path + ":" + std::to_string(n) + ": " + err;
  }
  return {};
}

bool known(const std::string& name, const std::vector<extra_option>& extra) {
  static const char* const standard[] = {
    "listen",  "knob",         "max-message-size", "threads",   "drain-timeout-ms",
    "cluster", "join",         "node-name",        "heartbeat-ms", "heartbeat-timeout-ms",
    "unavailable-without-workers", "config",
  };
  for (const char* s : standard)
    if (name == s)
      return true;
  for (const auto& o : extra)
    if (o.name == name)
      return true;
  return false;
}

} // namespace

extra_option count_option(std::string name, std::string help,
                          std::function<void(long)> set) {
  auto flag = "--" + name;
  return {std::move(name), "N", std::move(help),
          [flag, set = std::move(set)](const std::string& value) -> std::string {
            std::size_t n = 0;
            if (!parse_size(value, n) || n > static_cast<std::size_t>(LONG_MAX))
              return flag + " expects a non-negative number, got '" + value + "'";
            set(static_cast<long>(n));
            return {};
          }};
}

parse_result parse_options(int argc, const char* const* argv, const std::string& program,
                           const std::vector<extra_option>& extra) {
  server_options opts;
  auto fail = [&](const std::string& msg) {
    return parse_result{std::nullopt, 2, program + ": " + msg + " (try --help)\n"};
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
      return parse_result{std::nullopt, 0, usage(program, extra)};
    if (arg.rfind("--", 0) != 0)
      return fail("unexpected argument '" + arg + "'");
    auto name = arg.substr(2);
    name = name.substr(0, name.find('='));
    if (!known(name, extra))
      return fail("unknown option --" + name);
    name = arg.substr(2);
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail("option --" + name + " needs a value");
    }
    auto err = name == "config" ? apply_file(opts, value, extra)
                                : apply(opts, name, value, extra);
    if (!err.empty())
      return fail(err);
  }
  if (!opts.join.empty() && (!opts.listen.empty() || !opts.cluster.empty()))
    return fail("--join runs a worker node; it takes no --listen or --cluster");
  if (opts.listen.empty() && opts.join.empty())
    opts.listen.push_back("tcp://127.0.0.1:5555");
  return parse_result{std::move(opts), 0, {}};
}

} // namespace ferry::runtime
