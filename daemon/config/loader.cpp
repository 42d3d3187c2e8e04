#include "daemon/config/loader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "daemon/config/enum_names.hpp"
#include "util/nearest.hpp"

namespace lvsd::config {

std::string Diagnostic::str() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}:{}", line, column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

namespace {

using detail::enum_choices;
using detail::enum_from_string;
using YAML::Mark;
using YAML::Node;
using namespace std::chrono_literals;

constexpr long long kU32Max = 4294967295LL;

std::string join_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t i) {
  return fmt::format("{}[{}]", parent, i);
}

std::string parent_path(const std::string& path) {
  auto pos = path.find_last_of(".[");
  if (pos == std::string::npos) return "";
  return path.substr(0, pos);
}

// a is b or an ancestor of b
bool covers(const std::string& a, const std::string& b) {
  if (a.empty()) return true;
  if (b.compare(0, a.size(), a) != 0) return false;
  return b.size() == a.size() || b[a.size()] == '.' || b[a.size()] == '[';
}

// "; did you mean 'x'?" when one candidate is close, else "".
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates) {
  const auto best = util::nearest(word, candidates);
  if (!best || best->distance == 0 || best->distance > 2 ||
      best->distance > std::max<std::size_t>(1, word.size() / 2))
    return "";
  return fmt::format("; did you mean '{}'?", best->candidate);
}

std::string describe(const Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", n.Scalar());
  }
  return "?";
}

struct Ctx {
  std::string file;
  std::vector<Diagnostic> errors;
  std::map<std::string, Mark> marks;  // key path -> position of its value
  std::set<std::string> failed;       // key paths with an error

  void error(const Mark& m, const std::string& path, std::string message) {
    int line = m.is_null() ? 1 : m.line + 1;
    int column = m.is_null() ? 1 : m.column + 1;
    errors.push_back(Diagnostic{file, line, column, path, std::move(message)});
    failed.insert(path);
  }

  Mark mark_of(std::string path) const {
    while (true) {
      auto it = marks.find(path);
      if (it != marks.end()) return it->second;
      if (path.empty()) return Mark();
      path = parent_path(path);
    }
  }

  void error_at(const std::string& path, std::string message) {
    error(mark_of(path), path, std::move(message));
  }

  // No error was reported at path, inside it or on an enclosing node: rules
  // that combine several values only run on values that parsed cleanly.
  bool clean(const std::string& path) const {
    return std::none_of(failed.begin(), failed.end(),
                        [&](const std::string& f) { return covers(f, path) || covers(path, f); });
  }
};

// ------------------------------------------------------------ scalar values

std::optional<std::string> as_scalar(Ctx& ctx, const Node& n, const std::string& path,
                                     std::string_view what) {
  if (!n.IsScalar()) {
    ctx.error(ctx.mark_of(path), path, fmt::format("expected {}, got {}", what, describe(n)));
    return std::nullopt;
  }
  return n.Scalar();
}

// Length of the valid UTF-8 prefix of s (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
std::size_t valid_utf8_prefix(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      const unsigned min = k == 1 ? lo : 0x80;
      const unsigned max = k == 1 ? hi : 0xBF;
      if (b < min || b > max) return i;
    }
    i += len;
  }
  return i;
}

std::optional<std::string> as_string(Ctx& ctx, const Node& n, const std::string& path) {
  auto s = as_scalar(ctx, n, path, "a string");
  if (s) {
    // YAML is UTF-8; yaml-cpp passes stray bytes through, which would then
    // reach logs, the status socket's JSON and --dump-config.
    const std::size_t ok = valid_utf8_prefix(*s);
    if (ok != s->size()) {
      ctx.error_at(path, fmt::format("not valid UTF-8 (bad byte at offset {})", ok));
      return std::nullopt;
    }
  }
  return s;
}

std::optional<long long> as_int(Ctx& ctx, const Node& n, const std::string& path, long long min,
                                long long max) {
  auto s = as_scalar(ctx, n, path, "an integer");
  if (!s) return std::nullopt;
  std::string_view v = *s;
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  long long out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ptr != v.data() + v.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    ctx.error_at(path, fmt::format("expected an integer, got '{}'", *s));
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || out < min || out > max) {
    ctx.error_at(path, fmt::format("must be {}..{}, got {}", min, max, *s));
    return std::nullopt;
  }
  return out;
}

std::optional<bool> as_bool(Ctx& ctx, const Node& n, const std::string& path) {
  auto s = as_scalar(ctx, n, path, "a bool (true or false)");
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "True" || *s == "TRUE") return true;
  if (*s == "false" || *s == "False" || *s == "FALSE") return false;
  ctx.error_at(path, fmt::format("expected a bool (true or false), got '{}'", *s));
  return std::nullopt;
}

std::optional<Duration> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  long long total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    if (i == start) return std::nullopt;
    long long value = 0;
    auto [ptr, ec] = std::from_chars(s.data() + start, s.data() + i, value);
    if (ec != std::errc()) return std::nullopt;
    std::size_t ustart = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z')))
      ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    long long scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60 * 1000;
    else if (unit == "h")
      scale = 3600 * 1000;
    else if (unit == "d")
      scale = 86400 * 1000;
    else
      return std::nullopt;
    if (value > (1LL << 40)) return std::nullopt;
    total += value * scale;
  }
  return Duration(total);
}

std::optional<Duration> as_duration(Ctx& ctx, const Node& n, const std::string& path, Duration min,
                                    Duration max) {
  auto s = as_scalar(ctx, n, path, "a duration");
  if (!s) return std::nullopt;
  bool digits = !s->empty() && std::all_of(s->begin(), s->end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+';
  });
  if (digits) {
    ctx.error_at(
        path,
        fmt::format("expected a duration, got '{}'; add a unit, e.g. '{}s' or '{}ms'", *s, *s, *s));
    return std::nullopt;
  }
  auto d = parse_duration(*s);
  if (!d) {
    ctx.error_at(path, fmt::format("expected a duration (a number and a unit: ms, s, m, h, d; e.g. "
                                   "'250ms', '1s', '1m30s'), got '{}'",
                                   *s));
    return std::nullopt;
  }
  if (*d < min || *d > max) {
    ctx.error_at(path, fmt::format("must be {}..{}, got {}", format_duration(min),
                                   format_duration(max), *s));
    return std::nullopt;
  }
  return d;
}

std::optional<Address> as_address(Ctx& ctx, const Node& n, const std::string& path) {
  auto s = as_scalar(ctx, n, path, "an IP address");
  if (!s) return std::nullopt;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(*s, ec);
  if (ec) {
    ctx.error_at(path, fmt::format("expected an IP address, got '{}'", *s));
    return std::nullopt;
  }
  return a;
}

template <class E>
std::optional<E> as_enum(Ctx& ctx, const Node& n, const std::string& path) {
  auto s = as_scalar(ctx, n, path, fmt::format("one of {}", enum_choices<E>()));
  if (!s) return std::nullopt;
  auto v = enum_from_string<E>(*s);
  if (!v) {
    ctx.error_at(path, fmt::format("must be {}, got '{}'", enum_choices<E>(), *s));
  }
  return v;
}

std::optional<std::string> as_choice(Ctx& ctx, const Node& n, const std::string& path,
                                     const std::vector<std::string>& choices) {
  std::string list;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) list += i + 1 == choices.size() ? " or " : ", ";
    list += "'" + choices[i] + "'";
  }
  auto s = as_scalar(ctx, n, path, "one of " + list);
  if (!s) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *s) == choices.end()) {
    ctx.error_at(path, fmt::format("must be {}, got '{}'", list, *s));
    return std::nullopt;
  }
  return s;
}

// A list (null = empty list). Calls f(item, item_path, index) for each item.
template <class F>
void each(Ctx& ctx, const Node& n, const std::string& path, F&& f) {
  if (n.IsNull()) return;
  if (!n.IsSequence()) {
    ctx.error(ctx.mark_of(path), path, fmt::format("expected a list, got {}", describe(n)));
    return;
  }
  std::size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i) {
    std::string p = index_path(path, i);
    Node item = *it;
    ctx.marks[p] = item.Mark();
    f(item, p, i);
  }
}

std::optional<Command> as_command(Ctx& ctx, const Node& n, const std::string& path) {
  Command out;
  if (n.IsScalar()) {
    auto text = as_string(ctx, n, path);
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    std::string word;
    while (in >> word)
      out.push_back(word);
  } else if (n.IsSequence()) {
    bool ok = true;
    each(ctx, n, path, [&](const Node& item, const std::string& p, std::size_t) {
      auto s = as_string(ctx, item, p);
      if (s)
        out.push_back(*s);
      else
        ok = false;
    });
    if (!ok) return std::nullopt;
  } else {
    ctx.error(ctx.mark_of(path), path,
              fmt::format("expected a command (a string or a list), got {}", describe(n)));
    return std::nullopt;
  }
  if (out.empty()) {
    ctx.error_at(path, "command must not be empty");
    return std::nullopt;
  }
  return out;
}

bool valid_regex(Ctx& ctx, const std::string& path, const std::string& re) {
  try {
    std::regex r(re, std::regex::ECMAScript);
    return true;
  } catch (const std::regex_error& e) {
    ctx.error_at(path, fmt::format("invalid regular expression '{}': {}", re, e.what()));
    return false;
  }
}

// ----------------------------------------------------------------- mappings

// One YAML mapping being read. Every take() names a key the schema knows;
// keys never taken are reported as unknown when the Map goes out of scope.
class Map {
 public:
  Map(Ctx& ctx, const Node& node, std::string path) : ctx_(ctx), path_(std::move(path)) {
    mark_ = ctx_.mark_of(path_);
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      ctx_.error(mark_, path_, fmt::format("expected a mapping, got {}", describe(node)));
      valid_ = false;
      return;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
      Node k = it->first;  // a copy: the iterator yields a temporary pair
      if (!k.IsScalar()) {
        ctx_.error(k.Mark(), path_, fmt::format("keys must be scalars, got {}", describe(k)));
        continue;
      }
      const std::string& key = k.Scalar();
      auto found = index_.find(key);
      if (found != index_.end()) {
        ctx_.error(k.Mark(), join_path(path_, key),
                   fmt::format("duplicate key '{}' (first at line {})", key,
                               entries_[found->second].key_mark.line + 1));
        continue;
      }
      index_[key] = entries_.size();
      entries_.push_back(Entry{key, k.Mark(), it->second, false});
    }
  }
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  ~Map() {
    for (const auto& e : entries_) {
      if (e.used) continue;
      ctx_.error(e.key_mark, join_path(path_, e.key),
                 fmt::format("unknown key '{}'{}", e.key, suggestion(e.key, known_)));
    }
  }

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  const Mark& mark() const { return mark_; }
  std::string sub(std::string_view key) const { return join_path(path_, key); }
  bool has(std::string_view key) const { return index_.count(std::string(key)) != 0; }

  Mark key_mark(std::string_view key) const {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? mark_ : entries_[it->second].key_mark;
  }

  // The value of key (marking the key as known), or nothing when absent.
  std::optional<Node> take(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
    auto it = index_.find(std::string(key));
    if (it == index_.end()) return std::nullopt;
    Entry& e = entries_[it->second];
    e.used = true;
    Mark m = e.value.Mark();
    // An empty value's mark points at the next token: use the key instead.
    if (e.value.IsNull() && (m.is_null() || m.line != e.key_mark.line)) m = e.key_mark;
    ctx_.marks[sub(key)] = m;
    return e.value;
  }

  // Reports a missing required key at this mapping's position.
  bool require(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
    if (has(key) || !valid_) return has(key);
    ctx_.error(mark_, path_, fmt::format("missing required key '{}'", key));
    return false;
  }

  // Typed getters: leave `out` alone when the key is absent or invalid;
  // return true when the key was present and valid.
  template <class T>
  bool get_int(std::string_view key, T& out, long long min, long long max) {
    auto n = take(key);
    if (!n) return false;
    auto v = as_int(ctx_, *n, sub(key), min, max);
    if (v) out = static_cast<T>(*v);
    return v.has_value();
  }
  bool get_bool(std::string_view key, bool& out) {
    auto n = take(key);
    if (!n) return false;
    auto v = as_bool(ctx_, *n, sub(key));
    if (v) out = *v;
    return v.has_value();
  }
  bool get_string(std::string_view key, std::string& out) {
    auto n = take(key);
    if (!n) return false;
    auto v = as_string(ctx_, *n, sub(key));
    if (v) out = *v;
    return v.has_value();
  }
  bool get_duration(std::string_view key, Duration& out, Duration min = Duration(0),
                    Duration max = std::chrono::hours(24 * 365)) {
    auto n = take(key);
    if (!n) return false;
    auto v = as_duration(ctx_, *n, sub(key), min, max);
    if (v) out = *v;
    return v.has_value();
  }
  bool get_address(std::string_view key, Address& out) {
    auto n = take(key);
    if (!n) return false;
    auto v = as_address(ctx_, *n, sub(key));
    if (v) out = *v;
    return v.has_value();
  }
  bool get_address(std::string_view key, std::optional<Address>& out) {
    Address a;
    if (!get_address(key, a)) return false;
    out = a;
    return true;
  }
  template <class E>
  bool get_enum(std::string_view key, E& out) {
    auto n = take(key);
    if (!n) return false;
    auto v = as_enum<E>(ctx_, *n, sub(key));
    if (v) out = *v;
    return v.has_value();
  }
  bool get_command(std::string_view key, Command& out) {
    auto n = take(key);
    if (!n) return false;
    auto v = as_command(ctx_, *n, sub(key));
    if (v) out = *v;
    return v.has_value();
  }
  // A list of scalars.
  bool get_strings(std::string_view key, std::vector<std::string>& out) {
    auto n = take(key);
    if (!n) return false;
    std::vector<std::string> v;
    bool ok = true;
    each(ctx_, *n, sub(key), [&](const Node& item, const std::string& p, std::size_t) {
      auto s = as_string(ctx_, item, p);
      if (s)
        v.push_back(*s);
      else
        ok = false;
    });
    if (ok && (n->IsNull() || n->IsSequence())) out = std::move(v);
    return ok;
  }

 private:
  struct Entry {
    std::string key;
    Mark key_mark;
    Node value;
    bool used;
  };
  Ctx& ctx_;
  std::string path_;
  Mark mark_;
  bool valid_ = true;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> index_;
  std::vector<std::string> known_;
};

// ------------------------------------------------------------------- global

void parse_global(Ctx& ctx, const Node& node, Global& g) {
  Map m(ctx, node, "global");
  if (auto n = m.take("status_socket")) {
    Map s(ctx, *n, m.sub("status_socket"));
    s.get_string("path", g.status_socket.path);
    if (auto mode = s.take("mode")) {
      auto p = s.sub("mode");
      if (auto v = as_scalar(ctx, *mode, p, "an octal mode")) {
        unsigned out = 0;
        auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out, 8);
        if (v->empty() || ec != std::errc() || ptr != v->data() + v->size()) {
          ctx.error_at(p, fmt::format("expected an octal mode like \"0660\", got '{}'", *v));
        } else if (out > 07777) {
          ctx.error_at(p, fmt::format("must be 0000..07777, got {}", *v));
        } else {
          g.status_socket.mode = out;
        }
      }
    }
    s.get_string("group", g.status_socket.group);
    if (g.status_socket.path.empty()) ctx.error_at(s.sub("path"), "must not be empty");
  }
  if (auto n = m.take("logging")) {
    Map l(ctx, *n, m.sub("logging"));
    l.get_enum("target", g.logging.target);
    l.get_enum("level", g.logging.level);
  }
  m.get_string("script_user", g.script_user);
  m.get_string("pid_file", g.pid_file);
  m.get_string("router_id", g.router_id);
  if (g.script_user.empty()) ctx.error_at(m.sub("script_user"), "must not be empty");
}

// --------------------------------------------------------------- forwarding

void parse_forwarding(Ctx& ctx, const Node& node, Forwarding& f) {
  Map m(ctx, node, "forwarding");
  m.get_enum("backend", f.backend);
  if (auto n = m.take("timeouts")) {
    Map t(ctx, *n, m.sub("timeouts"));
    // ip_vs keeps these in whole seconds (ipvsadm --set); 0 would mean "unchanged".
    for (auto [key, target] : {std::pair<const char*, Duration*>{"tcp", &f.timeouts.tcp},
                               {"tcp_fin", &f.timeouts.tcp_fin},
                               {"udp", &f.timeouts.udp}}) {
      if (t.get_duration(key, *target, 1s, std::chrono::hours(24 * 30)) &&
          target->count() % 1000 != 0) {
        ctx.error_at(t.sub(key), fmt::format("must be a whole number of seconds, got {}",
                                             format_duration(*target)));
      }
    }
  }
  m.get_duration("reconcile_interval", f.reconcile_interval, 1s, std::chrono::hours(24));
  m.get_enum("on_stop", f.on_stop);
  m.get_enum("foreign_services", f.foreign_services);
  if (auto n = m.take("userspace")) {
    Map u(ctx, *n, m.sub("userspace"));
    auto& us = f.userspace;
    u.get_int("queue_base", us.queue_base, 0, 65535);
    u.get_int("queues", us.queues, 0, 64);
    u.get_int("queue_maxlen", us.queue_maxlen, 1, kU32Max);
    u.get_bool("fail_open", us.fail_open);
    u.get_int("max_connections", us.max_connections, 1, kU32Max);
    u.get_duration("syn_recv_timeout", us.syn_recv_timeout, 1s, std::chrono::hours(1));
    u.get_enum("steering", us.steering);
    // `queues` GSO queues then as many plain ones (0 means 1 of each).
    const unsigned last = static_cast<unsigned>(us.queue_base) + 2 * std::max(us.queues, 1u) - 1;
    if (last > 65535 && ctx.clean(u.sub("queue_base")) && ctx.clean(u.sub("queues"))) {
      ctx.error_at(u.sub("queues"),
                   fmt::format("the engine uses queues queue_base .. queue_base + 2 x queues - 1 "
                               "(GSO ones, then plain ones); the last would be {}, above 65535",
                               last));
    }
  }
}

// ------------------------------------------------------------------- checks

const std::vector<std::string>& check_type_keys() {
  static const std::vector<std::string> keys = {
      "send",        "expect",   "method",           "path",          "host",
      "headers",     "username", "password",         "status",        "body_regex",
      "body_digest", "max_body", "follow_redirects", "max_redirects", "sni",
      "verify_peer", "ca_file",  "client_cert",      "client_key",    "expiry_warning",
      "command",     "user",     "dynamic_weight",   "query_name",    "query_type",
      "helo_name"};
  return keys;
}

bool key_valid_for(CheckType t, std::string_view key) {
  using T = CheckType;
  auto in = [&](std::initializer_list<T> ts) {
    return std::find(ts.begin(), ts.end(), t) != ts.end();
  };
  static const std::set<std::string_view> http = {
      "method", "path",       "host",        "headers",  "username",         "password",
      "status", "body_regex", "body_digest", "max_body", "follow_redirects", "max_redirects"};
  static const std::set<std::string_view> tls = {"sni", "verify_peer", "ca_file", "client_cert",
                                                 "client_key"};
  if (key == "send") return in({T::tcp, T::udp});
  if (key == "expect") return in({T::tcp, T::udp, T::dns});
  if (http.count(key)) return in({T::http, T::https});
  if (tls.count(key)) return in({T::https, T::ssl});
  if (key == "expiry_warning") return t == T::ssl;
  if (key == "command" || key == "user" || key == "dynamic_weight") return t == T::misc;
  if (key == "query_name" || key == "query_type") return t == T::dns;
  if (key == "helo_name") return t == T::smtp;
  return false;
}

bool check_needs_port(CheckType t) {
  return t != CheckType::misc && t != CheckType::icmp;
}

void parse_status_codes(Ctx& ctx, const Node& n, const std::string& path,
                        std::vector<StatusRange>& out) {
  std::vector<StatusRange> ranges;
  bool ok = true;
  auto one = [&](const Node& item, const std::string& p) {
    auto s = as_scalar(ctx, item, p, "a status code or range like \"200-299\"");
    if (!s) {
      ok = false;
      return;
    }
    auto dash = s->find('-');
    std::string a = s->substr(0, dash);
    std::string b = dash == std::string::npos ? a : s->substr(dash + 1);
    unsigned from = 0, to = 0;
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), from);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), to);
    if (a.empty() || b.empty() || r1.ec != std::errc() || r2.ec != std::errc() ||
        r1.ptr != a.data() + a.size() || r2.ptr != b.data() + b.size()) {
      ctx.error_at(p,
                   fmt::format("expected a status code or range like \"200-299\", got '{}'", *s));
      ok = false;
    } else if (from < 100 || to > 599 || from > to) {
      ctx.error_at(p, fmt::format("must be codes in 100..599 (low-high), got '{}'", *s));
      ok = false;
    } else {
      ranges.push_back(StatusRange{static_cast<uint16_t>(from), static_cast<uint16_t>(to)});
    }
  };
  if (n.IsSequence()) {
    each(ctx, n, path, [&](const Node& item, const std::string& p, std::size_t) { one(item, p); });
  } else {
    one(n, path);
  }
  if (ok && ranges.empty()) {
    ctx.error_at(path, "must list at least one status code");
    ok = false;
  }
  if (ok) out = std::move(ranges);
}

// A check mapping: an entry of `checks`, or an inline check on a service or
// realserver (default_name set: `name` is then optional).
Check parse_check(Ctx& ctx, const Node& node, const std::string& path,
                  const std::string& default_name, const Global& g) {
  Check c;
  Map m(ctx, node, path);
  c.name = default_name;
  if (default_name.empty()) m.require("name");
  if (m.get_string("name", c.name) && c.name.empty())
    ctx.error_at(m.sub("name"), "must not be empty");
  bool type_ok = m.require("type") && m.get_enum("type", c.type);
  bool fast_set = false;
  m.get_duration("interval", c.interval, 10ms, std::chrono::hours(24));
  fast_set = m.get_duration("fast_interval", c.fast_interval, 10ms, std::chrono::hours(24));
  if (!fast_set) c.fast_interval = c.interval;
  m.get_duration("timeout", c.timeout, 10ms, std::chrono::hours(1));
  m.get_int("rise", c.rise, 1, 1000);
  m.get_int("fall", c.fall, 1, 1000);
  m.get_bool("alpha", c.alpha);
  m.get_address("connect_address", c.connect_address);
  m.get_int("connect_port", c.connect_port, 0, 65535);
  m.get_address("bind_address", c.bind_address);
  m.get_string("bind_interface", c.bind_interface);
  m.get_int("fwmark", c.fwmark, 0, kU32Max);
  if (c.timeout > c.interval && ctx.clean(m.sub("timeout")) && ctx.clean(m.sub("interval"))) {
    ctx.error_at(m.has("timeout") ? m.sub("timeout") : m.sub("interval"),
                 fmt::format("timeout ({}) must not exceed interval ({})",
                             format_duration(c.timeout), format_duration(c.interval)));
  }
  if (c.connect_address && c.bind_address &&
      c.connect_address->is_v6() != c.bind_address->is_v6()) {
    ctx.error_at(m.sub("bind_address"), "must be of the same address family as connect_address");
  }

  for (const auto& key : check_type_keys()) {
    if (!m.has(key)) {
      m.take(key);  // known, for suggestions
      continue;
    }
    if (type_ok && !key_valid_for(c.type, key)) {
      ctx.error(m.key_mark(key), m.sub(key),
                fmt::format("key '{}' is not valid for check type {}", key, to_string(c.type)));
      m.take(key);
      continue;
    }
    if (!type_ok) {
      m.take(key);  // cannot judge without a type
      continue;
    }
    auto n = *m.take(key);
    auto p = m.sub(key);
    if (key == "send") {
      if (auto v = as_string(ctx, n, p)) c.send = *v;
    } else if (key == "expect" && c.type == CheckType::dns) {
      std::vector<std::string> v;
      bool ok = true;
      each(ctx, n, p, [&](const Node& item, const std::string& ip, std::size_t) {
        if (auto s = as_string(ctx, item, ip))
          v.push_back(*s);
        else
          ok = false;
      });
      if (ok && n.IsSequence()) c.dns.expect = v;
    } else if (key == "expect") {
      if (auto v = as_string(ctx, n, p); v && valid_regex(ctx, p, *v)) c.expect = *v;
    } else if (key == "method") {
      if (auto v = as_string(ctx, n, p)) {
        bool token = !v->empty() && std::all_of(v->begin(), v->end(),
                                                [](char ch) { return ch >= 'A' && ch <= 'Z'; });
        if (token)
          c.http.method = *v;
        else
          ctx.error_at(p, fmt::format("expected an HTTP method like GET or HEAD, got '{}'", *v));
      }
    } else if (key == "path") {
      if (auto v = as_string(ctx, n, p)) {
        if (v->empty() || v->front() != '/')
          ctx.error_at(p, fmt::format("must start with '/', got '{}'", *v));
        else
          c.http.path = *v;
      }
    } else if (key == "host") {
      if (auto v = as_string(ctx, n, p)) c.http.host = *v;
    } else if (key == "headers") {
      Map h(ctx, n, p);
      if (h.valid() && n.IsMap()) {
        for (auto it = n.begin(); it != n.end(); ++it) {
          if (!it->first.IsScalar()) continue;
          std::string hk = it->first.Scalar();
          auto hn = h.take(hk);
          // RFC 9110 field-name is a token; a value must not smuggle a line
          // break into the request.
          const bool token = !hk.empty() && std::all_of(hk.begin(), hk.end(), [](unsigned char ch) {
            return std::isalnum(ch) || (ch != 0 && std::strchr("!#$%&'*+-.^_`|~", ch) != nullptr);
          });
          if (!token) {
            ctx.error(it->first.Mark(), h.sub(hk), "not a valid HTTP header name");
            continue;
          }
          if (auto v = as_string(ctx, *hn, h.sub(hk))) {
            if (v->find_first_of("\r\n") != std::string::npos) {
              ctx.error_at(h.sub(hk), "header value must not contain a line break");
            } else {
              c.http.headers[hk] = *v;
            }
          }
        }
      }
    } else if (key == "username") {
      if (auto v = as_string(ctx, n, p)) c.http.username = *v;
    } else if (key == "password") {
      if (auto v = as_string(ctx, n, p)) c.http.password = *v;
    } else if (key == "status") {
      parse_status_codes(ctx, n, p, c.http.status);
    } else if (key == "body_regex") {
      if (auto v = as_string(ctx, n, p); v && valid_regex(ctx, p, *v)) c.http.body_regex = *v;
    } else if (key == "body_digest") {
      if (auto v = as_string(ctx, n, p)) {
        std::string d = *v;
        std::transform(d.begin(), d.end(), d.begin(), [](char ch) {
          return static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        });
        bool hex = d.size() == 32 && std::all_of(d.begin(), d.end(), [](char ch) {
                     return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
                   });
        if (hex || d.empty())
          c.http.body_digest = d;
        else
          ctx.error_at(p, fmt::format("expected an MD5 digest (32 hex digits), got '{}'", *v));
      }
    } else if (key == "max_body") {
      if (auto v = as_int(ctx, n, p, 1, kU32Max)) c.http.max_body = static_cast<uint32_t>(*v);
    } else if (key == "follow_redirects") {
      if (auto v = as_bool(ctx, n, p)) c.http.follow_redirects = *v;
    } else if (key == "max_redirects") {
      if (auto v = as_int(ctx, n, p, 0, 100)) c.http.max_redirects = static_cast<unsigned>(*v);
    } else if (key == "sni") {
      if (auto v = as_string(ctx, n, p)) c.tls.sni = *v;
    } else if (key == "verify_peer") {
      if (auto v = as_bool(ctx, n, p)) c.tls.verify_peer = *v;
    } else if (key == "ca_file") {
      if (auto v = as_string(ctx, n, p)) c.tls.ca_file = *v;
    } else if (key == "client_cert") {
      if (auto v = as_string(ctx, n, p)) c.tls.client_cert = *v;
    } else if (key == "client_key") {
      if (auto v = as_string(ctx, n, p)) c.tls.client_key = *v;
    } else if (key == "expiry_warning") {
      if (auto v = as_duration(ctx, n, p, Duration(0), std::chrono::hours(24 * 3650)))
        c.tls.expiry_warning = *v;
    } else if (key == "command") {
      if (auto v = as_command(ctx, n, p)) c.misc.command = *v;
    } else if (key == "user") {
      if (auto v = as_string(ctx, n, p)) c.misc.user = *v;
    } else if (key == "dynamic_weight") {
      if (auto v = as_bool(ctx, n, p)) c.misc.dynamic_weight = *v;
    } else if (key == "query_name") {
      if (auto v = as_string(ctx, n, p)) c.dns.query_name = *v;
    } else if (key == "query_type") {
      if (auto v = as_enum<DnsType>(ctx, n, p)) c.dns.query_type = *v;
    } else if (key == "helo_name") {
      if (auto v = as_string(ctx, n, p)) c.helo_name = *v;
    }
  }
  if (type_ok && c.type == CheckType::misc) m.require("command");
  if (c.type == CheckType::misc && c.misc.user.empty()) c.misc.user = g.script_user;
  if (type_ok && (c.type == CheckType::https || c.type == CheckType::ssl) &&
      c.tls.client_cert.empty() != c.tls.client_key.empty()) {
    ctx.error_at(c.tls.client_cert.empty() ? m.sub("client_key") : m.sub("client_cert"),
                 "client_cert and client_key must be set together");
  }
  return c;
}

using CheckMap = std::map<std::string, const Check*>;

// `check:` on a service or realserver: a name from `checks`, or an inline check.
std::optional<Check> parse_check_ref(Ctx& ctx, const Node& n, const std::string& path,
                                     const std::string& default_name, const CheckMap& named,
                                     const Global& g) {
  if (n.IsScalar()) {
    auto it = named.find(n.Scalar());
    if (it == named.end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : named)
        names.push_back(k);
      ctx.error_at(path,
                   fmt::format("unknown check '{}'{}", n.Scalar(), suggestion(n.Scalar(), names)));
      return std::nullopt;
    }
    return *it->second;
  }
  if (n.IsMap()) return parse_check(ctx, n, path, default_name, g);
  ctx.error_at(path, fmt::format("expected a check name or a check mapping, got {}", describe(n)));
  return std::nullopt;
}

// ----------------------------------------------------------------- services

const std::vector<std::string> kSchedulers = {"rr", "wrr",  "lc",    "wlc", "sed", "nq",  "sh",
                                              "dh", "lblc", "lblcr", "mh",  "fo",  "ovf", "twos"};
const std::vector<std::string> kSchedulerFlags = {"sh-fallback", "sh-port", "mh-fallback",
                                                  "mh-port"};

bool is_v6(Family f) {
  return f == Family::inet6;
}

void parse_realserver(Ctx& ctx, const Node& node, const std::string& path, Service& svc,
                      bool method_ok, const CheckMap& named, const Global& g, RealServer& rs) {
  Map m(ctx, node, path);
  bool addr_ok = m.require("address") && m.get_address("address", rs.address);
  rs.port = svc.port;
  m.get_int("port", rs.port, 0, 65535);
  m.get_int("weight", rs.weight, 0, 65535);
  rs.method = svc.method;
  bool rs_method_ok = m.get_enum("method", rs.method) || (!m.has("method") && method_ok);
  m.get_int("upper_threshold", rs.upper_threshold, 0, kU32Max);
  m.get_int("lower_threshold", rs.lower_threshold, 0, kU32Max);
  m.get_bool("enabled", rs.enabled);
  rs.check = svc.check;
  if (auto n = m.take("check")) {
    std::string name = fmt::format("{}/{}", svc.name, rs.key());
    rs.check = parse_check_ref(ctx, *n, m.sub("check"), name, named, g);
  }

  // ip_vs: a destination of another family than its service is only allowed
  // with tunnelling (ip_vs_ctl.c: -EAFNOSUPPORT unless IP_VS_CONN_F_TUNNEL).
  if (addr_ok && rs_method_ok && (svc.address || svc.fwmark) &&
      rs.address.is_v6() != is_v6(svc.family) && rs.method != Method::tun &&
      ctx.clean(join_path(parent_path(parent_path(path)), "address"))) {
    ctx.error_at(m.sub("address"),
                 fmt::format("realserver {} is {} but the service is {}; mixing families needs "
                             "method tun",
                             rs.address.to_string(), rs.address.is_v6() ? "IPv6" : "IPv4",
                             is_v6(svc.family) ? "IPv6" : "IPv4"));
  }
  // dr and tun cannot rewrite the destination port.
  if (rs_method_ok && rs.method != Method::nat && svc.port != 0 && rs.port != svc.port &&
      ctx.clean(m.sub("port"))) {
    ctx.error_at(m.sub("port"),
                 fmt::format("must equal the service port ({}) with method {}: {} cannot rewrite "
                             "ports, got {}",
                             svc.port, to_string(rs.method), to_string(rs.method), rs.port));
  }
  // ip_vs refuses l_threshold > u_threshold with ERANGE, also when u_threshold
  // is 0 ("no limit"): a lower threshold only means something under an upper one.
  if (rs.lower_threshold != 0 && rs.upper_threshold == 0 && ctx.clean(m.sub("lower_threshold"))) {
    ctx.error_at(m.sub("lower_threshold"),
                 fmt::format("needs upper_threshold (the kernel refuses a lower threshold without "
                             "an upper one), got {}",
                             rs.lower_threshold));
  }
  if (rs.lower_threshold != 0 && rs.upper_threshold != 0 &&
      rs.lower_threshold >= rs.upper_threshold && ctx.clean(m.sub("lower_threshold")) &&
      ctx.clean(m.sub("upper_threshold"))) {
    ctx.error_at(m.sub("lower_threshold"),
                 fmt::format("must be less than upper_threshold ({}), got {}", rs.upper_threshold,
                             rs.lower_threshold));
  }
  if (rs.check && check_needs_port(rs.check->type) && rs.check->connect_port == 0 && rs.port == 0 &&
      ctx.clean(m.sub("port"))) {
    ctx.error_at(m.has("port") ? m.sub("port") : path,
                 fmt::format("check '{}' ({}) needs a port: set the realserver's port or the "
                             "check's connect_port",
                             rs.check->name, to_string(rs.check->type)));
  }
}

void parse_service(Ctx& ctx, const Node& node, const std::string& path, const CheckMap& named,
                   const Global& g, Service& svc) {
  Map m(ctx, node, path);
  bool has_fwmark = m.has("fwmark");
  bool has_address = m.has("address");
  bool key_ok = true;
  bool both = has_fwmark && has_address;
  if (both) {
    ctx.error(m.key_mark("fwmark"), m.sub("fwmark"),
              "'fwmark' and 'address' are mutually exclusive: a service is either "
              "address+protocol+port or a firewall mark");
    key_ok = false;
    for (const char* k : {"fwmark", "family", "address", "port"})
      m.take(k);
  } else if (!has_fwmark && !has_address && m.valid()) {
    ctx.error(m.mark(), path, "missing required key 'address' (or 'fwmark')");
    key_ok = false;
  }
  m.get_enum("protocol", svc.protocol);
  if (both) {
    // reported above
  } else if (has_fwmark) {
    key_ok = m.get_int("fwmark", svc.fwmark, 1, kU32Max) && key_ok;
    key_ok = (m.get_enum("family", svc.family) || !m.has("family")) && key_ok;
    if (m.has("port")) {
      ctx.error(m.key_mark("port"), m.sub("port"),
                "'port' is not valid for a fwmark service; set the realservers' ports");
      m.take("port");
    }
  } else {
    if (m.has("family")) {
      ctx.error(m.key_mark("family"), m.sub("family"),
                "'family' is only valid with 'fwmark'; an address service takes the family of "
                "its address");
      m.take("family");
    }
    if (has_address) {
      key_ok = m.get_address("address", svc.address) && key_ok;
      if (svc.address) svc.family = svc.address->is_v6() ? Family::inet6 : Family::inet;
      key_ok = m.require("port") && m.get_int("port", svc.port, 0, 65535) && key_ok;
    } else {
      m.take("port");
    }
  }
  svc.name = svc.key();
  if (m.get_string("name", svc.name) && svc.name.empty()) {
    ctx.error_at(m.sub("name"), "must not be empty");
  }
  if (!key_ok) ctx.failed.insert(path + ".key");

  bool sched_ok = true;
  if (auto n = m.take("scheduler")) {
    auto v = as_choice(ctx, *n, m.sub("scheduler"), kSchedulers);
    if (v) svc.scheduler = *v;
    sched_ok = v.has_value();
  }
  if (auto n = m.take("scheduler_flags")) {
    std::set<std::string> seen;
    each(ctx, *n, m.sub("scheduler_flags"),
         [&](const Node& item, const std::string& p, std::size_t) {
           auto v = as_choice(ctx, item, p, kSchedulerFlags);
           if (!v) return;
           if (!seen.insert(*v).second) {
             ctx.error_at(p, fmt::format("duplicate flag '{}'", *v));
             return;
           }
           std::string want = v->substr(0, 2);
           if (sched_ok && svc.scheduler != want) {
             ctx.error_at(p, fmt::format("flag '{}' needs scheduler {}, but the scheduler is {}",
                                         *v, want, svc.scheduler));
             return;
           }
           svc.scheduler_flags.push_back(*v);
         });
  }
  if (m.get_bool("one_packet", svc.one_packet) && svc.one_packet && svc.protocol != Protocol::udp &&
      ctx.clean(m.sub("protocol"))) {
    ctx.error_at(m.sub("one_packet"), fmt::format("one_packet is only valid for udp services, "
                                                  "the protocol is {}",
                                                  to_string(svc.protocol)));
  }
  bool family_known = ctx.clean(path + ".key");
  if (auto n = m.take("persistence")) {
    Persistence pers;
    Map pm(ctx, *n, m.sub("persistence"));
    auto timeout_ok = pm.get_duration("timeout", pers.timeout, 1s, std::chrono::hours(24 * 30));
    if (timeout_ok && pers.timeout.count() % 1000 != 0) {
      ctx.error_at(pm.sub("timeout"), fmt::format("must be a whole number of seconds, got {}",
                                                  format_duration(pers.timeout)));
    }
    if (pm.has("netmask")) {
      if (family_known && is_v6(svc.family)) {
        ctx.error(pm.key_mark("netmask"), pm.sub("netmask"),
                  "netmask is for IPv4 services; use 'prefix' for IPv6");
        pm.take("netmask");
      } else if (auto a = pm.take("netmask"); auto addr = as_address(ctx, *a, pm.sub("netmask"))) {
        uint32_t bits = addr->is_v4() ? addr->to_v4().to_uint() : 0;
        uint32_t inv = ~bits;
        if (!addr->is_v4() || (inv & (inv + 1)) != 0) {
          ctx.error_at(
              pm.sub("netmask"),
              fmt::format("expected a contiguous IPv4 netmask like 255.255.255.0, got '{}'",
                          a->Scalar()));
        } else {
          pers.netmask = addr->to_v4();
        }
      }
    }
    if (pm.has("prefix")) {
      if (family_known && !is_v6(svc.family)) {
        ctx.error(pm.key_mark("prefix"), pm.sub("prefix"),
                  "prefix is for IPv6 services; use 'netmask' for IPv4");
        pm.take("prefix");
      } else {
        pm.get_int("prefix", pers.prefix, 1, 128);
      }
    }
    pm.take("netmask");
    pm.take("prefix");
    svc.persistence = pers;
  }
  if (ctx.clean(m.sub("port")) && has_address && svc.port == 0 && !svc.persistence && key_ok) {
    ctx.error_at(m.sub("port"), "port 0 (all ports) needs persistence");
  }
  bool method_ok = m.get_enum("method", svc.method) || !m.has("method");
  if (auto n = m.take("tunnel")) {
    Tunnel t;
    Map tm(ctx, *n, m.sub("tunnel"));
    bool type_ok = tm.get_enum("type", t.type) || !tm.has("type");
    if (tm.has("port")) {
      if (type_ok && t.type != TunnelType::gue) {
        ctx.error(tm.key_mark("port"), tm.sub("port"),
                  fmt::format("port is only valid with tunnel type gue, the type is {}",
                              to_string(t.type)));
        tm.take("port");
      } else {
        tm.get_int("port", t.port, 1, 65535);
      }
    } else if (type_ok && t.type == TunnelType::gue) {
      tm.require("port");
    }
    if (tm.get_enum("checksum", t.checksum) && type_ok && t.type == TunnelType::ipip &&
        t.checksum != TunnelChecksum::none) {
      ctx.error_at(tm.sub("checksum"), "checksum is only valid with tunnel type gue or gre");
    }
    svc.tunnel = t;
  }
  if (auto n = m.take("quorum")) {
    Map q(ctx, *n, m.sub("quorum"));
    q.get_int("weight", svc.quorum.weight, 0, kU32Max);
    q.get_int("hysteresis", svc.quorum.hysteresis, 0, kU32Max);
    q.get_command("on_up", svc.quorum.on_up);
    q.get_command("on_down", svc.quorum.on_down);
    if (svc.quorum.hysteresis > svc.quorum.weight && ctx.clean(q.sub("hysteresis"))) {
      ctx.error_at(q.sub("hysteresis"), fmt::format("must not exceed quorum weight ({}), got {}",
                                                    svc.quorum.weight, svc.quorum.hysteresis));
    }
  }
  if (auto n = m.take("sorry_server")) {
    SorryServer s;
    s.port = svc.port;
    s.method = svc.method;
    Map sm(ctx, *n, m.sub("sorry_server"));
    bool a_ok = sm.require("address") && sm.get_address("address", s.address);
    sm.get_int("port", s.port, 0, 65535);
    bool s_method_ok = sm.get_enum("method", s.method) || (!sm.has("method") && method_ok);
    if (a_ok && s_method_ok && family_known && s.method != Method::tun &&
        s.address.is_v6() != is_v6(svc.family)) {
      ctx.error_at(sm.sub("address"),
                   "must be of the service's address family unless method is tun");
    }
    svc.sorry_server = s;
  }
  if (auto n = m.take("check")) {
    svc.check = parse_check_ref(ctx, *n, m.sub("check"), svc.name, named, g);
  }
  m.get_bool("inhibit_on_failure", svc.inhibit_on_failure);
  m.get_duration("slow_start", svc.slow_start, Duration(0), std::chrono::hours(1));

  if (auto n = m.take("realservers")) {
    std::map<std::string, std::string> seen;  // key -> path
    each(ctx, *n, m.sub("realservers"), [&](const Node& item, const std::string& p, std::size_t) {
      RealServer rs;
      parse_realserver(ctx, item, p, svc, method_ok, named, g, rs);
      if (ctx.clean(p + ".address") && ctx.clean(p + ".port") && item.IsMap()) {
        auto [it, fresh] = seen.emplace(rs.key(), p);
        if (!fresh) {
          ctx.error_at(p, fmt::format("duplicate realserver {} (first at line {})", rs.key(),
                                      ctx.mark_of(it->second).line + 1));
        }
      }
      svc.realservers.push_back(std::move(rs));
    });
  }
  if (svc.tunnel && method_ok && svc.method != Method::tun &&
      std::none_of(svc.realservers.begin(), svc.realservers.end(),
                   [](const RealServer& rs) { return rs.method == Method::tun; })) {
    ctx.error_at(m.sub("tunnel"),
                 "tunnel is only valid when the service or a realserver uses "
                 "method tun");
  }
}

void parse_services(Ctx& ctx, const Node& n, const CheckMap& named, const Global& g,
                    std::vector<Service>& out) {
  std::map<std::string, std::string> keys, names;  // -> first path
  each(ctx, n, "services", [&](const Node& item, const std::string& p, std::size_t) {
    Service svc;
    parse_service(ctx, item, p, named, g, svc);
    if (item.IsMap() && ctx.clean(p + ".key")) {
      auto [it, fresh] = keys.emplace(svc.key(), p);
      if (!fresh) {
        ctx.error_at(p, fmt::format("duplicate service '{}' (first at line {})", svc.key(),
                                    ctx.mark_of(it->second).line + 1));
      } else if (ctx.clean(p + ".name")) {
        auto [nit, nfresh] = names.emplace(svc.name, p);
        if (!nfresh) {
          ctx.error_at(p + ".name", fmt::format("duplicate service name '{}' (first at line {})",
                                                svc.name, ctx.mark_of(nit->second).line + 1));
        }
      }
    }
    out.push_back(std::move(svc));
  });
}

// --------------------------------------------------------------------- vrrp

bool parse_prefix(Ctx& ctx, const Node& n, const std::string& path, Prefix& out) {
  auto s = as_scalar(ctx, n, path, "an address/prefix like 192.0.2.0/24");
  if (!s) return false;
  auto slash = s->find('/');
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(s->substr(0, slash), ec);
  unsigned len = 0;
  bool ok = !ec;
  if (ok && slash != std::string::npos) {
    std::string l = s->substr(slash + 1);
    auto [ptr, lec] = std::from_chars(l.data(), l.data() + l.size(), len);
    ok = !l.empty() && lec == std::errc() && ptr == l.data() + l.size() &&
         len <= (a.is_v6() ? 128u : 32u);
  } else if (ok) {
    len = a.is_v6() ? 128 : 32;
  }
  if (!ok) {
    ctx.error_at(path, fmt::format("expected an address/prefix like 192.0.2.0/24 or "
                                   "2001:db8::/64, got '{}'",
                                   *s));
    return false;
  }
  out.address = a;
  out.length = len;
  return true;
}

const std::vector<std::string> kScopes = {"global", "site", "link", "host"};

void parse_vip(Ctx& ctx, const Node& n, const std::string& path, const std::string& interface,
               VirtualAddress& vip) {
  vip.device = interface;
  if (n.IsScalar()) {
    Prefix p;
    if (parse_prefix(ctx, n, path, p)) {
      vip.address = p.address;
      vip.prefix = p.length;
    }
    return;
  }
  Map m(ctx, n, path);
  if (!m.valid()) return;
  bool ok = m.require("address") && m.get_address("address", vip.address);
  vip.prefix = vip.address.is_v6() ? 128 : 32;
  if (ok)
    m.get_int("prefix", vip.prefix, 0, vip.address.is_v6() ? 128 : 32);
  else
    m.take("prefix");
  m.get_string("device", vip.device);
  m.get_string("label", vip.label);
  if (auto s = m.take("scope")) {
    if (auto v = as_choice(ctx, *s, m.sub("scope"), kScopes)) vip.scope = *v;
  }
}

void parse_track_list(Ctx& ctx, Map& m, std::string_view key, std::vector<TrackEntry>& out) {
  auto n = m.take(key);
  if (!n) return;
  each(ctx, *n, m.sub(key), [&](const Node& item, const std::string& p, std::size_t) {
    TrackEntry e;
    if (item.IsScalar()) {
      e.name = item.Scalar();
    } else {
      Map tm(ctx, item, p);
      if (!tm.valid()) return;
      tm.require("name");
      tm.get_string("name", e.name);
      tm.get_int("weight", e.weight, -253, 253);
    }
    out.push_back(e);
  });
}

void parse_notify(Ctx& ctx, const Node& n, const std::string& path, Notify& out) {
  Map m(ctx, n, path);
  m.get_command("master", out.master);
  m.get_command("backup", out.backup);
  m.get_command("fault", out.fault);
  m.get_command("stop", out.stop);
}

void parse_instance(Ctx& ctx, const Node& node, const std::string& path, VrrpInstance& vi) {
  Map m(ctx, node, path);
  m.require("name");
  m.get_string("name", vi.name);
  m.require("interface");
  m.get_string("interface", vi.interface);
  m.require("vrid");
  m.get_int("vrid", vi.vrid, 1, 255);
  bool version_ok = true;
  if (auto n = m.take("version")) {
    auto v = as_int(ctx, *n, m.sub("version"), 2, 3);
    if (v) vi.version = static_cast<unsigned>(*v);
    version_ok = v.has_value();
  }
  m.get_int("priority", vi.priority, 1, 255);
  bool adv_ok = m.get_duration("advert_interval", vi.advert_interval, 10ms, 255s) ||
                !m.has("advert_interval");
  m.get_bool("preempt", vi.preempt);
  m.get_duration("preempt_delay", vi.preempt_delay, Duration(0), 1000s);
  m.get_bool("accept", vi.accept);
  m.get_enum("initial_state", vi.initial_state);
  if (auto n = m.take("virtual_addresses")) {
    std::set<Address> seen;
    each(ctx, *n, m.sub("virtual_addresses"),
         [&](const Node& item, const std::string& p, std::size_t) {
           VirtualAddress vip;
           parse_vip(ctx, item, p, vi.interface, vip);
           if (!ctx.clean(p)) return;
           if (!seen.insert(vip.address).second) {
             ctx.error_at(p, fmt::format("duplicate virtual address {}", vip.address.to_string()));
             return;
           }
           if (!vi.virtual_addresses.empty() &&
               vip.address.is_v6() != vi.virtual_addresses.front().address.is_v6()) {
             ctx.error_at(p,
                          "all virtual addresses of an instance must be of one family; use a "
                          "second instance for the other family");
             return;
           }
           vi.virtual_addresses.push_back(vip);
         });
  }
  bool v6 = vi.family() == Family::inet6;
  if (auto n = m.take("virtual_routes")) {
    each(ctx, *n, m.sub("virtual_routes"),
         [&](const Node& item, const std::string& p, std::size_t) {
           VirtualRoute r;
           Map rm(ctx, item, p);
           if (!rm.valid()) return;
           if (rm.require("to")) parse_prefix(ctx, *rm.take("to"), rm.sub("to"), r.to);
           rm.get_address("via", r.via);
           rm.get_string("device", r.device);
           rm.get_int("table", r.table, 0, kU32Max);
           if (r.via && ctx.clean(rm.sub("to")) && r.via->is_v6() != r.to.address.is_v6()) {
             ctx.error_at(rm.sub("via"), "must be of the same family as 'to'");
           }
           vi.virtual_routes.push_back(r);
         });
  }
  auto family_name = [](bool is6) { return is6 ? "IPv6" : "IPv4"; };
  if (m.get_address("unicast_source", vi.unicast_source) && !vi.virtual_addresses.empty() &&
      vi.unicast_source->is_v6() != v6) {
    ctx.error_at(m.sub("unicast_source"),
                 fmt::format("must be {} like the virtual addresses", family_name(v6)));
  }
  if (auto n = m.take("unicast_peers")) {
    each(ctx, *n, m.sub("unicast_peers"), [&](const Node& item, const std::string& p, std::size_t) {
      auto a = as_address(ctx, item, p);
      if (!a) return;
      if (!vi.virtual_addresses.empty() && a->is_v6() != v6) {
        ctx.error_at(p, fmt::format("must be {} like the virtual addresses", family_name(v6)));
        return;
      }
      vi.unicast_peers.push_back(*a);
    });
  }
  if (auto n = m.take("auth")) {
    VrrpAuth auth;
    Map am(ctx, *n, m.sub("auth"));
    if (auto t = am.take("type")) {
      if (auto v = as_choice(ctx, *t, am.sub("type"), {"pass"})) auth.type = *v;
    }
    if (am.require("password") && am.get_string("password", auth.password) &&
        (auth.password.empty() || auth.password.size() > 8)) {
      ctx.error_at(am.sub("password"),
                   fmt::format("must be 1..8 characters (RFC 3768), got {}", auth.password.size()));
    }
    if (version_ok && vi.version == 3) {
      ctx.error_at(m.sub("auth"),
                   "auth is not part of VRRP version 3 (RFC 5798); remove it or "
                   "use version 2");
    }
    vi.auth = auth;
  }
  m.get_bool("v3_checksum_pseudo_header", vi.v3_checksum_pseudo_header);
  if (auto n = m.take("garp")) {
    Map gm(ctx, *n, m.sub("garp"));
    gm.get_int("count", vi.garp.count, 0, 1000);
    gm.get_duration("interval", vi.garp.interval, Duration(0), 60s);
    gm.get_duration("repeat_delay", vi.garp.repeat_delay, Duration(0), std::chrono::hours(1));
    gm.get_duration("refresh", vi.garp.refresh, Duration(0), std::chrono::hours(24));
  }
  m.get_bool("use_vmac", vi.use_vmac);
  if (m.get_string("vmac_name", vi.vmac_name)) {
    // The kernel's dev_valid_name(): 1..15 bytes, not "." / "..", no '/', ':' or space.
    const auto& n = vi.vmac_name;
    const bool ok = !n.empty() && n.size() <= 15 && n != "." && n != ".." &&
                    n.find_first_of("/: \t\n\r\v\f") == std::string::npos;
    if (!ok) {
      ctx.error_at(m.sub("vmac_name"),
                   "must be an interface name: 1..15 characters, without '/', ':' or spaces");
    } else if (!vi.use_vmac) {
      ctx.error_at(m.sub("vmac_name"), "needs use_vmac: true");
    } else if (n == vi.interface) {
      ctx.error_at(m.sub("vmac_name"), "must differ from the instance's interface");
    }
  }
  if (auto n = m.take("track")) {
    Map tm(ctx, *n, m.sub("track"));
    parse_track_list(ctx, tm, "interfaces", vi.track.interfaces);
    parse_track_list(ctx, tm, "scripts", vi.track.scripts);
    parse_track_list(ctx, tm, "files", vi.track.files);
    parse_track_list(ctx, tm, "services", vi.track.services);
  }
  if (auto n = m.take("notify")) parse_notify(ctx, *n, m.sub("notify"), vi.notify);

  if (version_ok && vi.version == 2 && v6) {
    ctx.error_at(m.has("version") ? m.sub("version") : m.sub("virtual_addresses"),
                 "VRRP version 2 is IPv4 only (RFC 3768); IPv6 virtual addresses need version 3");
  }
  if (adv_ok && version_ok) {
    auto ms = vi.advert_interval.count();
    if (vi.version == 2 && (ms % 1000 != 0 || ms < 1000)) {
      ctx.error_at(m.sub("advert_interval"),
                   fmt::format("must be whole seconds 1s..255s with VRRP version 2, got {}",
                               format_duration(vi.advert_interval)));
    } else if (vi.version == 3 && (ms % 10 != 0 || ms > 40950)) {
      ctx.error_at(m.sub("advert_interval"),
                   fmt::format("must be a multiple of 10ms, 10ms..40950ms, with VRRP version 3 "
                               "(RFC 5798: centiseconds in 12 bits), got {}",
                               format_duration(vi.advert_interval)));
    }
  }
}

template <class T>
void check_unique_names(Ctx& ctx, const std::vector<T>& items, const std::string& path,
                        std::string_view what) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string p = index_path(path, i);
    if (items[i].name.empty() || !ctx.clean(p + ".name")) continue;
    auto [it, fresh] = seen.emplace(items[i].name, i);
    if (!fresh) {
      ctx.error_at(p + ".name",
                   fmt::format("duplicate {} name '{}' (first at line {})", what, items[i].name,
                               ctx.mark_of(index_path(path, it->second)).line + 1));
    }
  }
}

void parse_vrrp(Ctx& ctx, const Node& node, const std::vector<Service>& services, Vrrp& v,
                const Global& g) {
  Map m(ctx, node, "vrrp");
  if (auto n = m.take("scripts")) {
    each(ctx, *n, m.sub("scripts"), [&](const Node& item, const std::string& p, std::size_t) {
      VrrpScript s;
      Map sm(ctx, item, p);
      if (!sm.valid()) return;
      sm.require("name");
      sm.get_string("name", s.name);
      sm.require("command");
      sm.get_command("command", s.command);
      sm.get_duration("interval", s.interval, 10ms, std::chrono::hours(24));
      s.timeout = s.interval;
      sm.get_duration("timeout", s.timeout, 10ms, std::chrono::hours(1));
      sm.get_int("weight", s.weight, -253, 253);
      sm.get_int("rise", s.rise, 1, 1000);
      sm.get_int("fall", s.fall, 1, 1000);
      s.user = g.script_user;
      sm.get_string("user", s.user);
      v.scripts.push_back(s);
    });
  }
  check_unique_names(ctx, v.scripts, "vrrp.scripts", "script");
  if (auto n = m.take("files")) {
    each(ctx, *n, m.sub("files"), [&](const Node& item, const std::string& p, std::size_t) {
      VrrpTrackFile f;
      Map fm(ctx, item, p);
      if (!fm.valid()) return;
      fm.require("name");
      fm.get_string("name", f.name);
      fm.require("path");
      fm.get_string("path", f.path);
      fm.get_int("weight", f.weight, -253, 253);
      v.files.push_back(f);
    });
  }
  check_unique_names(ctx, v.files, "vrrp.files", "file");
  if (auto n = m.take("instances")) {
    each(ctx, *n, m.sub("instances"), [&](const Node& item, const std::string& p, std::size_t) {
      VrrpInstance vi;
      parse_instance(ctx, item, p, vi);
      v.instances.push_back(vi);
    });
  }
  check_unique_names(ctx, v.instances, "vrrp.instances", "instance");
  // Explicit vmac names are one interface each (defaults are made unique by
  // the VRRP module, as keepalived does).
  std::map<std::string, std::size_t> vmac_names;
  for (std::size_t i = 0; i < v.instances.size(); ++i) {
    const auto& vi = v.instances[i];
    std::string p = index_path("vrrp.instances", i) + ".vmac_name";
    if (!vi.use_vmac || vi.vmac_name.empty() || !ctx.clean(p)) continue;
    auto [it, fresh] = vmac_names.emplace(vi.vmac_name, i);
    if (!fresh) {
      ctx.error_at(p, fmt::format("vmac_name '{}' is already used by instance '{}'", vi.vmac_name,
                                  v.instances[it->second].name));
    }
  }
  // One VRID per interface and family (RFC 5798 5.2.3: the VRID scopes the
  // virtual MAC, which is per family: 00-00-5E-00-01-{VRID} / 00-00-5E-00-02-{VRID}).
  std::map<std::tuple<std::string, unsigned, bool>, std::size_t> vrids;
  for (std::size_t i = 0; i < v.instances.size(); ++i) {
    const auto& vi = v.instances[i];
    std::string p = index_path("vrrp.instances", i);
    if (vi.vrid == 0 || !ctx.clean(p + ".vrid") || !ctx.clean(p + ".interface")) continue;
    auto [it, fresh] = vrids.emplace(
        std::make_tuple(vi.interface, unsigned{vi.vrid}, vi.family() == Family::inet6), i);
    if (!fresh) {
      ctx.error_at(
          p + ".vrid",
          fmt::format("duplicate vrid {} on interface {} ({}), already used by "
                      "instance '{}'",
                      vi.vrid, vi.interface, to_string(vi.family()), v.instances[it->second].name));
    }
  }
  if (auto n = m.take("sync_groups")) {
    each(ctx, *n, m.sub("sync_groups"), [&](const Node& item, const std::string& p, std::size_t) {
      VrrpSyncGroup sg;
      Map gm(ctx, item, p);
      if (!gm.valid()) return;
      gm.require("name");
      gm.get_string("name", sg.name);
      gm.require("instances");
      gm.get_strings("instances", sg.instances);
      if (auto nn = gm.take("notify")) parse_notify(ctx, *nn, gm.sub("notify"), sg.notify);
      v.sync_groups.push_back(sg);
    });
  }
  check_unique_names(ctx, v.sync_groups, "vrrp.sync_groups", "sync group");

  std::vector<std::string> instance_names, script_names, file_names, service_names;
  for (const auto& vi : v.instances)
    instance_names.push_back(vi.name);
  for (const auto& s : v.scripts)
    script_names.push_back(s.name);
  for (const auto& f : v.files)
    file_names.push_back(f.name);
  for (const auto& s : services)
    service_names.push_back(s.name);
  auto known = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  std::map<std::string, std::string> member_of;  // instance -> sync group
  for (std::size_t i = 0; i < v.sync_groups.size(); ++i) {
    auto& sg = v.sync_groups[i];
    for (std::size_t j = 0; j < sg.instances.size(); ++j) {
      std::string p = index_path(index_path("vrrp.sync_groups", i) + ".instances", j);
      const auto& name = sg.instances[j];
      if (!known(instance_names, name)) {
        ctx.error_at(
            p, fmt::format("unknown vrrp instance '{}'{}", name, suggestion(name, instance_names)));
      } else if (auto [it, fresh] = member_of.emplace(name, sg.name); !fresh) {
        ctx.error_at(p,
                     fmt::format("instance '{}' is already in sync group '{}'", name, it->second));
      }
    }
  }
  for (std::size_t i = 0; i < v.instances.size(); ++i) {
    auto& vi = v.instances[i];
    std::string tp = index_path("vrrp.instances", i) + ".track";
    auto check_refs = [&](std::vector<TrackEntry>& entries, const char* key,
                          const std::vector<std::string>& names, const char* what,
                          bool by_service_key) {
      for (std::size_t j = 0; j < entries.size(); ++j) {
        std::string p = index_path(join_path(tp, key), j);
        auto& e = entries[j];
        if (e.name.empty() || !ctx.clean(p) || known(names, e.name)) continue;
        if (by_service_key) {
          auto it = std::find_if(services.begin(), services.end(),
                                 [&](const Service& s) { return s.key() == e.name; });
          if (it != services.end()) {
            e.name = it->name;
            continue;
          }
        }
        std::string ep = ctx.marks.count(p + ".name") ? p + ".name" : p;
        ctx.error_at(ep, fmt::format("unknown {} '{}'{}", what, e.name, suggestion(e.name, names)));
      }
    };
    check_refs(vi.track.scripts, "scripts", script_names, "vrrp script", false);
    check_refs(vi.track.files, "files", file_names, "vrrp file", false);
    check_refs(vi.track.services, "services", service_names, "service", true);
  }
}

// --------------------------------------------------------------------- sync

void parse_sync(Ctx& ctx, const Node& node, const Vrrp& vrrp, Sync& s) {
  Map m(ctx, node, "sync");
  m.require("interface");
  m.get_string("interface", s.interface);
  m.get_int("syncid", s.syncid, 0, 255);
  if (m.get_address("group", s.group) && !s.group.is_multicast()) {
    ctx.error_at(m.sub("group"),
                 fmt::format("must be a multicast address, got {}", s.group.to_string()));
  }
  m.get_int("port", s.port, 1, 65535);
  m.get_int("ttl", s.ttl, 1, 255);
  if (s.group.is_v6()) s.maxlen = 1452;  // 1500 - 40 (IPv6) - 8 (UDP)
  m.get_int("maxlen", s.maxlen, 256, 65507);
  std::vector<std::string> instance_names;
  for (const auto& vi : vrrp.instances)
    instance_names.push_back(vi.name);
  if (auto n = m.take("role")) {
    auto p = m.sub("role");
    if (n->IsMap()) {
      Map rm(ctx, *n, p);
      rm.require("follow");
      s.role.kind = SyncRoleKind::follow;
      if (rm.get_string("follow", s.role.follow) &&
          std::find(instance_names.begin(), instance_names.end(), s.role.follow) ==
              instance_names.end()) {
        ctx.error_at(rm.sub("follow"), fmt::format("unknown vrrp instance '{}'{}", s.role.follow,
                                                   suggestion(s.role.follow, instance_names)));
      }
    } else if (auto v = as_choice(ctx, *n, p, {"master", "backup", "both"})) {
      s.role.kind = *enum_from_string<SyncRoleKind>(*v);
    }
  } else if (vrrp.instances.size() == 1 && !vrrp.instances.front().name.empty()) {
    s.role.follow = vrrp.instances.front().name;
  } else if (m.valid()) {
    ctx.error(m.mark(), "sync",
              "missing required key 'role' (master, backup, both or {follow: <vrrp instance>}); "
              "it defaults to following the vrrp instance only when there is exactly one");
  }
  m.get_int("threshold", s.threshold, 0, 65535);
  m.get_int("period", s.period, 1, 65535);
  if (s.threshold >= s.period && ctx.clean(m.sub("threshold")) && ctx.clean(m.sub("period"))) {
    ctx.error_at(
        m.has("threshold") ? m.sub("threshold") : m.sub("period"),
        fmt::format("threshold ({}) must be less than period ({})", s.threshold, s.period));
  }
  m.get_bool("full_resync", s.full_resync);
  if (auto n = m.take("auth")) {
    SyncAuth a;
    Map am(ctx, *n, m.sub("auth"));
    am.require("key_file");
    if (am.get_string("key_file", a.key_file) && a.key_file.empty()) {
      ctx.error_at(am.sub("key_file"), "must not be empty");
    }
    s.auth = a;
  }
}

// --------------------------------------------------------------------- root

void parse_root(Ctx& ctx, const Node& root, Config& cfg) {
  ctx.marks[""] = root.Mark().is_null() ? Mark() : root.Mark();
  Map m(ctx, root, "");
  if (!m.valid()) return;
  if (auto n = m.take("global")) parse_global(ctx, *n, cfg.global);
  if (auto n = m.take("forwarding")) parse_forwarding(ctx, *n, cfg.forwarding);
  CheckMap named;
  if (auto n = m.take("checks")) {
    each(ctx, *n, "checks", [&](const Node& item, const std::string& p, std::size_t) {
      cfg.checks.push_back(parse_check(ctx, item, p, "", cfg.global));
    });
    check_unique_names(ctx, cfg.checks, "checks", "check");
    for (const auto& c : cfg.checks)
      named.emplace(c.name, &c);
  }
  if (auto n = m.take("services")) parse_services(ctx, *n, named, cfg.global, cfg.services);
  if (auto n = m.take("vrrp")) parse_vrrp(ctx, *n, cfg.services, cfg.vrrp, cfg.global);
  if (auto n = m.take("sync")) {
    Sync s;
    parse_sync(ctx, *n, cfg.vrrp, s);
    cfg.sync = s;
  }
}

}  // namespace

LoadResult load_string(std::string_view text, const std::string& file_name) {
  Ctx ctx;
  ctx.file = file_name;
  LoadResult result;
  Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    ctx.error(e.mark, "", e.msg);
    result.errors = std::move(ctx.errors);
    return result;
  }
  Config cfg;
  parse_root(ctx, root, cfg);
  std::stable_sort(ctx.errors.begin(), ctx.errors.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  result.errors = std::move(ctx.errors);
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.errors.push_back(
        Diagnostic{path, 0, 0, "", fmt::format("cannot read file: {}", std::strerror(errno))});
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    LoadResult r;
    r.errors.push_back(Diagnostic{path, 0, 0, "", "cannot read file: read error"});
    return r;
  }
  return load_string(ss.str(), path);
}

}  // namespace lvsd::config
