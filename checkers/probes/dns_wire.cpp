#include "checkers/probes/dns_wire.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <optional>

#include <boost/asio/ip/address.hpp>

namespace lvsd::checkers::dns_wire {
namespace {

using Bytes = std::span<const std::byte>;

uint8_t u8(Bytes m, std::size_t pos) {
  return std::to_integer<uint8_t>(m[pos]);
}
uint16_t u16(Bytes m, std::size_t pos) {
  return static_cast<uint16_t>((u8(m, pos) << 8) | u8(m, pos + 1));
}
uint32_t u32(Bytes m, std::size_t pos) {
  return (static_cast<uint32_t>(u16(m, pos)) << 16) | u16(m, pos + 2);
}

void put16(std::vector<std::byte>& out, uint16_t v) {
  out.push_back(static_cast<std::byte>(v >> 8));
  out.push_back(static_cast<std::byte>(v & 0xff));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void append_label_char(std::string& out, uint8_t c) {
  if (c == '.' || c == '\\') {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c <= 0x20 || c >= 0x7f) {
    char buf[5];
    std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
    out += buf;
  } else {
    out += static_cast<char>(c);
  }
}

// Reads a possibly compressed name starting at `pos`; on success `pos` is
// just past the name where it starts (after the first pointer, if any).
std::optional<WireError> read_name(Bytes m, std::size_t& pos, std::string& out) {
  out.clear();
  std::size_t cur = pos;
  bool jumped = false;
  unsigned hops = 0;
  std::size_t wire_len = 1;  // the root label
  for (;;) {
    if (cur >= m.size()) return WireError{"truncated name at offset " + std::to_string(cur)};
    const uint8_t len = u8(m, cur);
    if ((len & 0xc0) == 0xc0) {
      if (cur + 1 >= m.size()) {
        return WireError{"truncated compression pointer at offset " + std::to_string(cur)};
      }
      const std::size_t target = static_cast<std::size_t>(((len & 0x3f) << 8) | u8(m, cur + 1));
      if (target >= cur) {
        return WireError{"compression pointer at offset " + std::to_string(cur) + " to offset " +
                         std::to_string(target) + " does not point backwards (loop)"};
      }
      if (++hops > kMaxPointerHops) return WireError{"compression loop (too many pointers)"};
      if (!jumped) pos = cur + 2;
      jumped = true;
      cur = target;
      continue;
    }
    if ((len & 0xc0) != 0) {
      return WireError{"unsupported label type at offset " + std::to_string(cur)};
    }
    if (len == 0) {
      if (!jumped) pos = cur + 1;
      break;
    }
    if (cur + 1 + len > m.size()) {
      return WireError{"truncated label at offset " + std::to_string(cur)};
    }
    wire_len += 1 + len;
    if (wire_len > kMaxNameLength) return WireError{"name longer than 255 octets"};
    if (!out.empty()) out += '.';
    for (std::size_t i = 0; i < len; ++i)
      append_label_char(out, u8(m, cur + 1 + i));
    cur += 1 + len;
  }
  if (out.empty()) out = ".";
  return std::nullopt;
}

std::optional<WireError> render_rdata(Bytes m, std::size_t start, std::size_t len, uint16_t type,
                                      std::string& out) {
  const std::size_t end = start + len;
  auto need = [&](std::size_t n) -> std::optional<WireError> {
    if (len != n) {
      return WireError{type_name(type) + " rdata of " + std::to_string(len) + " octets, expected " +
                       std::to_string(n)};
    }
    return std::nullopt;
  };
  // A name filling the rest of the rdata from `pos`.
  auto name_to_end = [&](std::size_t pos, std::string& name) -> std::optional<WireError> {
    if (auto e = read_name(m, pos, name)) return e;
    if (pos != end) return WireError{type_name(type) + " rdata length does not match its name"};
    return std::nullopt;
  };
  switch (type) {
    case kA: {
      if (auto e = need(4)) return e;
      boost::asio::ip::address_v4::bytes_type b;
      for (std::size_t i = 0; i < 4; ++i)
        b[i] = u8(m, start + i);
      out = boost::asio::ip::address_v4(b).to_string();
      return std::nullopt;
    }
    case kAaaa: {
      if (auto e = need(16)) return e;
      boost::asio::ip::address_v6::bytes_type b;
      for (std::size_t i = 0; i < 16; ++i)
        b[i] = u8(m, start + i);
      out = boost::asio::ip::address_v6(b).to_string();
      return std::nullopt;
    }
    case kCname:
    case kNs:
    case kPtr:
      return name_to_end(start, out);
    case kMx: {
      if (len < 3) return WireError{"MX rdata too short"};
      std::string name;
      if (auto e = name_to_end(start + 2, name)) return e;
      out = std::to_string(u16(m, start)) + " " + name;
      return std::nullopt;
    }
    case kSrv: {
      if (len < 7) return WireError{"SRV rdata too short"};
      std::string name;
      if (auto e = name_to_end(start + 6, name)) return e;
      out = std::to_string(u16(m, start)) + " " + std::to_string(u16(m, start + 2)) + " " +
            std::to_string(u16(m, start + 4)) + " " + name;
      return std::nullopt;
    }
    case kSoa: {
      std::size_t pos = start;
      std::string mname, rname;
      if (auto e = read_name(m, pos, mname)) return e;
      if (pos > end) return WireError{"SOA rdata length does not match its names"};
      if (auto e = read_name(m, pos, rname)) return e;
      if (pos + 20 != end) return WireError{"SOA rdata length does not match its fields"};
      out = mname + " " + rname;
      for (int i = 0; i < 5; ++i)
        out += " " + std::to_string(u32(m, pos + 4 * i));
      return std::nullopt;
    }
    case kTxt: {
      std::size_t pos = start;
      out.clear();
      while (pos < end) {
        const std::size_t n = u8(m, pos);
        if (pos + 1 + n > end) return WireError{"TXT character-string overruns its rdata"};
        for (std::size_t i = 0; i < n; ++i) {
          const uint8_t c = u8(m, pos + 1 + i);
          if (c < 0x20 || c >= 0x7f || c == '\\') {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
        }
        pos += 1 + n;
      }
      return std::nullopt;
    }
    default: {
      out = "\\# " + std::to_string(len);
      if (len > 0) out += ' ';
      static constexpr char kHex[] = "0123456789abcdef";
      for (std::size_t i = 0; i < len; ++i) {
        out += kHex[u8(m, start + i) >> 4];
        out += kHex[u8(m, start + i) & 0xf];
      }
      return std::nullopt;
    }
  }
}

bool names_equal(std::string_view a, std::string_view b) {
  auto strip = [](std::string_view s) {
    if (s.size() > 1 && s.back() == '.') s.remove_suffix(1);
    return s;
  };
  return lower(strip(a)) == lower(strip(b));
}

}  // namespace

uint16_t type_code(config::DnsType t) {
  switch (t) {
    case config::DnsType::A:
      return kA;
    case config::DnsType::AAAA:
      return kAaaa;
    case config::DnsType::CNAME:
      return kCname;
    case config::DnsType::MX:
      return kMx;
    case config::DnsType::NS:
      return kNs;
    case config::DnsType::TXT:
      return kTxt;
    case config::DnsType::SOA:
      return kSoa;
    case config::DnsType::PTR:
      return kPtr;
    case config::DnsType::SRV:
      return kSrv;
  }
  return kA;
}

std::string type_name(uint16_t type) {
  switch (type) {
    case kA:
      return "A";
    case kNs:
      return "NS";
    case kCname:
      return "CNAME";
    case kSoa:
      return "SOA";
    case kPtr:
      return "PTR";
    case kMx:
      return "MX";
    case kTxt:
      return "TXT";
    case kAaaa:
      return "AAAA";
    case kSrv:
      return "SRV";
    default:
      return "TYPE" + std::to_string(type);
  }
}

std::string rcode_name(uint8_t rcode) {
  static constexpr std::array<const char*, 11> kNames = {
      "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  if (rcode < kNames.size()) return kNames[rcode];
  return "RCODE" + std::to_string(rcode);
}

std::string reverse_name_if_address(const std::string& name) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(name, ec);
  if (ec) return name;
  std::string out;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i)
      out += std::to_string(b[static_cast<std::size_t>(i)]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const auto b = a.to_v6().to_bytes();
  for (int i = 15; i >= 0; --i) {
    out += kHex[b[static_cast<std::size_t>(i)] & 0xf];
    out += '.';
    out += kHex[b[static_cast<std::size_t>(i)] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

std::variant<std::vector<std::byte>, WireError> encode_query(const Query& q) {
  std::vector<std::byte> out;
  put16(out, q.id);
  put16(out, q.recursion_desired ? 0x0100 : 0x0000);  // QR=0, opcode QUERY, RD
  put16(out, 1);                                      // QDCOUNT
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  // Labels, with \. \\ and \DDD escapes as in the presentation format.
  std::string_view name = q.name;
  if (name.empty()) return WireError{"empty query name"};
  std::size_t wire_len = 1;
  if (name != ".") {
    if (name.back() == '.' && !(name.size() >= 2 && name[name.size() - 2] == '\\')) {
      name.remove_suffix(1);
    }
    std::string label;
    auto flush = [&]() -> std::optional<WireError> {
      if (label.empty()) return WireError{"empty label in query name \"" + q.name + "\""};
      if (label.size() > 63) return WireError{"label longer than 63 octets in query name"};
      wire_len += 1 + label.size();
      if (wire_len > kMaxNameLength) return WireError{"query name longer than 255 octets"};
      out.push_back(static_cast<std::byte>(label.size()));
      for (char c : label)
        out.push_back(static_cast<std::byte>(c));
      label.clear();
      return std::nullopt;
    };
    for (std::size_t i = 0; i < name.size(); ++i) {
      const char c = name[i];
      if (c == '\\') {
        if (i + 3 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(name[i + 2])) &&
            std::isdigit(static_cast<unsigned char>(name[i + 3]))) {
          const int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
          if (v > 255) return WireError{"bad \\DDD escape in query name"};
          label += static_cast<char>(v);
          i += 3;
        } else if (i + 1 < name.size()) {
          label += name[++i];
        } else {
          return WireError{"dangling backslash in query name"};
        }
      } else if (c == '.') {
        if (auto e = flush()) return *e;
      } else {
        label += c;
      }
    }
    if (auto e = flush()) return *e;
  }
  out.push_back(std::byte{0});
  put16(out, q.type);
  put16(out, kClassIn);
  return out;
}

std::variant<Response, WireError> decode_response(std::span<const std::byte> m) {
  if (m.size() < kHeaderSize) {
    return WireError{"reply of " + std::to_string(m.size()) + " octets, shorter than a header"};
  }
  Response r;
  r.id = u16(m, 0);
  const uint16_t flags = u16(m, 2);
  r.qr = (flags & 0x8000) != 0;
  r.opcode = static_cast<uint8_t>((flags >> 11) & 0xf);
  r.aa = (flags & 0x0400) != 0;
  r.tc = (flags & 0x0200) != 0;
  r.rd = (flags & 0x0100) != 0;
  r.ra = (flags & 0x0080) != 0;
  r.rcode = static_cast<uint8_t>(flags & 0xf);
  const uint16_t qdcount = u16(m, 4);
  const uint16_t ancount = u16(m, 6);
  std::size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < qdcount; ++i) {
    Question q;
    if (auto e = read_name(m, pos, q.name)) return WireError{"question: " + e->reason};
    if (pos + 4 > m.size()) return WireError{"question: truncated"};
    q.type = u16(m, pos);
    q.klass = u16(m, pos + 2);
    pos += 4;
    r.questions.push_back(std::move(q));
  }
  for (uint16_t i = 0; i < ancount; ++i) {
    Record rec;
    const std::string where = "answer " + std::to_string(i + 1) + ": ";
    if (auto e = read_name(m, pos, rec.name)) return WireError{where + e->reason};
    if (pos + 10 > m.size()) return WireError{where + "truncated record header"};
    rec.type = u16(m, pos);
    rec.klass = u16(m, pos + 2);
    rec.ttl = u32(m, pos + 4);
    const std::size_t rdlength = u16(m, pos + 8);
    pos += 10;
    if (pos + rdlength > m.size()) return WireError{where + "rdata overruns the message"};
    if (auto e = render_rdata(m, pos, rdlength, rec.type, rec.data)) {
      return WireError{where + e->reason};
    }
    pos += rdlength;
    r.answers.push_back(std::move(rec));
  }
  return r;
}

std::string canonical_answer(uint16_t type, std::string_view text) {
  const auto b = text.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  text = text.substr(b, text.find_last_not_of(" \t") - b + 1);
  if (type == kTxt) return std::string(text);
  if (type == kA || type == kAaaa) {
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(std::string(text), ec);
    if (!ec) return a.to_string();
    return lower(text);
  }
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto s = text.find_first_not_of(" \t", i);
    if (s == std::string_view::npos) break;
    auto e = text.find_first_of(" \t", s);
    if (e == std::string_view::npos) e = text.size();
    std::string_view tok = text.substr(s, e - s);
    if (tok.size() > 1 && tok.back() == '.' && tok[tok.size() - 2] != '\\') tok.remove_suffix(1);
    if (!out.empty()) out += ' ';
    out += lower(tok);
    i = e;
  }
  return out;
}

Verdict evaluate(const Response& r, const Query& q, const std::vector<std::string>& expect) {
  auto hex = [](uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(v));
    return std::string(buf);
  };
  if (r.id != q.id) {
    return {Verdict::ignore, "reply id " + hex(r.id) + " does not match query id " + hex(q.id)};
  }
  if (!r.qr) return {Verdict::fail, "reply is not a response (QR=0)"};
  if (r.opcode != 0) return {Verdict::fail, "reply opcode " + std::to_string(r.opcode)};
  if (r.tc) return {Verdict::fail, "reply truncated (TC set)"};
  if (r.rcode != 0) return {Verdict::fail, "rcode " + rcode_name(r.rcode)};
  if (!r.questions.empty()) {
    const auto& qq = r.questions.front();
    if (qq.type != q.type || !names_equal(qq.name, q.name)) {
      return {Verdict::fail,
              "reply is for another question (" + qq.name + " " + type_name(qq.type) + ")"};
    }
  }
  std::vector<std::string> got;
  std::vector<std::string> canon;
  for (const auto& rec : r.answers) {
    if (rec.type != q.type) continue;
    got.push_back(rec.data);
    canon.push_back(canonical_answer(q.type, rec.data));
  }
  const std::string tname = type_name(q.type);
  if (got.empty()) {
    return {Verdict::fail, "NOERROR but no " + tname + " record in the answer (" +
                               std::to_string(r.answers.size()) + " records)"};
  }
  auto list = [&] {
    std::string s;
    for (std::size_t i = 0; i < got.size() && i < 4; ++i)
      s += (i ? ", " : "") + got[i];
    if (got.size() > 4) s += ", ...";
    return s;
  };
  for (const auto& e : expect) {
    const auto want = canonical_answer(q.type, e);
    if (std::find(canon.begin(), canon.end(), want) == canon.end()) {
      return {Verdict::fail,
              "expected " + tname + " \"" + e + "\" not in the answer (" + list() + ")"};
    }
  }
  return {Verdict::ok, tname + " " + list()};
}

}  // namespace lvsd::checkers::dns_wire
