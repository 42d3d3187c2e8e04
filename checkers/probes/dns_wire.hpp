#pragma once
// DNS wire format for the dns probe (RFC 1035 §4, RFC 3596 AAAA, RFC 2782 SRV):
// a query encoder, a response decoder that renders the answer section as text,
// and the verdict on a response. Pure functions: no sockets, no logging.
//
// The decoder never trusts the input: every length is bounds-checked, a
// compression pointer must point strictly before itself (RFC 1035 §4.1.4 only
// allows pointers to a "prior occurrence"; requiring it makes loops impossible)
// and at most kMaxPointerHops are followed, names are limited to 255 octets.
//
// Rendering (also what `expect` entries are matched against):
//   A, AAAA            the address ("192.0.2.1", "2001:db8::1")
//   CNAME, NS, PTR     the name, without the trailing dot ("www.example.com"; root is ".")
//   MX                 "preference exchange"             ("10 mail.example.com")
//   SOA                "mname rname serial refresh retry expire minimum"
//   SRV                "priority weight port target"     ("0 5 5060 sip.example.com")
//   TXT                the character-strings concatenated (as SPF/DKIM read them)
//   other types        RFC 3597 "\# length hex"
// Label bytes outside printable ASCII, '.' and '\' inside a label are escaped
// as \DDD / \. / \\ (RFC 1035 §5.1).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "daemon/config/config.hpp"

namespace lvsd::checkers::dns_wire {

inline constexpr unsigned kMaxPointerHops = 64;
inline constexpr std::size_t kMaxNameLength = 255;  // wire octets, RFC 1035 §2.3.4
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr uint16_t kClassIn = 1;

enum RrType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kSrv = 33,
};

struct WireError {
  std::string reason;
};

uint16_t type_code(config::DnsType t);
std::string type_name(uint16_t type);   // "A", "MX", "TYPE99"
std::string rcode_name(uint8_t rcode);  // "NXDOMAIN", "RCODE12"

struct Query {
  uint16_t id = 0;
  std::string name;  // presentation form; "." is the root
  uint16_t type = kA;
  bool recursion_desired = true;
};

// PTR convenience: an IPv4/IPv6 address becomes its in-addr.arpa / ip6.arpa
// name; anything else is returned unchanged.
std::string reverse_name_if_address(const std::string& name);

// The query message (one question, class IN), or why the name is invalid
// (empty label, label over 63 octets, name over 255 octets).
std::variant<std::vector<std::byte>, WireError> encode_query(const Query& q);

struct Question {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = 0;
};

struct Record {
  std::string name;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string data;  // rendered as above
};

struct Response {
  uint16_t id = 0;
  bool qr = false;
  uint8_t opcode = 0;
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  uint8_t rcode = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;  // authority and additional sections are not decoded
};

// Decodes the header, the questions and the answer section.
std::variant<Response, WireError> decode_response(std::span<const std::byte> msg);

// The text an answer is compared by: addresses in canonical form for A/AAAA;
// names lowercased without trailing dots for the name types; TXT unchanged.
std::string canonical_answer(uint16_t type, std::string_view text);

struct Verdict {
  enum Kind { ok, fail, ignore };  // ignore: not a reply to this query (id differs)
  Kind kind = fail;
  std::string reason;
};

// Judges `r` as the reply to `q`: id (else ignore), QR, opcode, TC, rcode,
// the echoed question, at least one record of the query type, and every
// `expect` entry present among those records (compared by canonical_answer).
Verdict evaluate(const Response& r, const Query& q, const std::vector<std::string>& expect);

}  // namespace lvsd::checkers::dns_wire
