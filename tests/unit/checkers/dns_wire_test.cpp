#include "checkers/probes/dns_wire.hpp"

#include <gtest/gtest.h>

#include <initializer_list>

namespace lvsd::checkers::dns_wire {
namespace {

std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v)
    out.push_back(static_cast<std::byte>(b));
  return out;
}

// A small message builder for crafted replies.
struct Msg {
  std::vector<std::byte> b;
  void u8(int v) { b.push_back(static_cast<std::byte>(v)); }
  void u16(int v) {
    u8((v >> 8) & 0xff);
    u8(v & 0xff);
  }
  void u32(uint32_t v) {
    u16(static_cast<int>(v >> 16));
    u16(static_cast<int>(v & 0xffff));
  }
  void name(std::string_view n) {
    while (!n.empty()) {
      const auto dot = n.find('.');
      const auto label = n.substr(0, dot);
      u8(static_cast<int>(label.size()));
      for (char c : label)
        u8(c);
      if (dot == std::string_view::npos) break;
      n.remove_prefix(dot + 1);
    }
    u8(0);
  }
  void header(int id, int flags, int qd, int an) {
    u16(id);
    u16(flags);
    u16(qd);
    u16(an);
    u16(0);
    u16(0);
  }
};

TEST(DnsWireTest, EncodesAQuery) {
  const auto r = encode_query({0x1234, "www.Example.com.", kA, true});
  ASSERT_TRUE(std::holds_alternative<std::vector<std::byte>>(r));
  const auto expect = bytes({0x12, 0x34, 0x01, 0x00, 0, 1,   0,   0,   0,   0,   0,   0,  //
                             3,    'w',  'w',  'w',  7, 'E', 'x', 'a', 'm', 'p', 'l', 'e',
                             3,    'c',  'o',  'm',  0, 0,   1,   0,   1});
  EXPECT_EQ(std::get<std::vector<std::byte>>(r), expect);
}

TEST(DnsWireTest, EncodesTheRootAndEscapes) {
  const auto root = encode_query({1, ".", kSoa, false});
  ASSERT_TRUE(std::holds_alternative<std::vector<std::byte>>(root));
  EXPECT_EQ(std::get<std::vector<std::byte>>(root),
            bytes({0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}));
  const auto esc = encode_query({1, "a\\.b.\\099", kTxt, false});
  ASSERT_TRUE(std::holds_alternative<std::vector<std::byte>>(esc));
  const auto& b = std::get<std::vector<std::byte>>(esc);
  EXPECT_EQ(std::vector<std::byte>(b.begin() + 12, b.end()),
            bytes({3, 'a', '.', 'b', 1, 'c', 0, 0, 16, 0, 1}));
}

TEST(DnsWireTest, RejectsBadNames) {
  EXPECT_TRUE(std::holds_alternative<WireError>(encode_query({1, "a..b", kA, true})));
  EXPECT_TRUE(std::holds_alternative<WireError>(encode_query({1, "", kA, true})));
  EXPECT_TRUE(std::holds_alternative<WireError>(
      encode_query({1, std::string(64, 'x') + ".com", kA, true})));
  std::string longname;
  for (int i = 0; i < 5; ++i)
    longname += std::string(60, 'y') + ".";
  EXPECT_TRUE(std::holds_alternative<WireError>(encode_query({1, longname, kA, true})));
}

TEST(DnsWireTest, ReverseNames) {
  EXPECT_EQ(reverse_name_if_address("192.0.2.10"), "10.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name_if_address("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(reverse_name_if_address("host.example"), "host.example");
}

// A reply to "example.com MX" with compressed names in the answer.
Msg mx_reply(int id) {
  Msg m;
  m.header(id, 0x8180, 1, 2);
  m.name("example.com");  // at offset 12
  m.u16(kMx);
  m.u16(1);
  for (int pref : {10, 20}) {
    m.u16(0xc00c);  // owner: pointer to the question name
    m.u16(kMx);
    m.u16(1);
    m.u32(300);
    m.u16(2 + 7);  // pref + "mail" label + pointer
    m.u16(pref);
    m.u8(pref == 10 ? 4 : 4);
    for (char c : std::string(pref == 10 ? "mail" : "mx02"))
      m.u8(c);
    m.u16(0xc00c);
  }
  return m;
}

TEST(DnsWireTest, DecodesCompressedAnswers) {
  const auto m = mx_reply(0xbeef);
  const auto r = decode_response(m.b);
  ASSERT_TRUE(std::holds_alternative<Response>(r)) << std::get<WireError>(r).reason;
  const auto& resp = std::get<Response>(r);
  EXPECT_EQ(resp.id, 0xbeef);
  EXPECT_TRUE(resp.qr);
  EXPECT_TRUE(resp.rd);
  EXPECT_TRUE(resp.ra);
  ASSERT_EQ(resp.questions.size(), 1u);
  EXPECT_EQ(resp.questions[0].name, "example.com");
  ASSERT_EQ(resp.answers.size(), 2u);
  EXPECT_EQ(resp.answers[0].name, "example.com");
  EXPECT_EQ(resp.answers[0].ttl, 300u);
  EXPECT_EQ(resp.answers[0].data, "10 mail.example.com");
  EXPECT_EQ(resp.answers[1].data, "20 mx02.example.com");

  const Query q{0xbeef, "example.com", kMx, true};
  EXPECT_EQ(evaluate(resp, q, {}).kind, Verdict::ok);
  EXPECT_EQ(evaluate(resp, q, {"10 MAIL.example.com.", "20 mx02.example.com"}).kind, Verdict::ok);
  const auto miss = evaluate(resp, q, {"30 mail.example.com"});
  EXPECT_EQ(miss.kind, Verdict::fail);
  EXPECT_NE(miss.reason.find("not in the answer"), std::string::npos) << miss.reason;
}

TEST(DnsWireTest, RendersEveryType) {
  Msg m;
  m.header(7, 0x8400, 0, 7);
  auto rr = [&](int type, auto body) {
    m.name("x.test");
    m.u16(type);
    m.u16(1);
    m.u32(60);
    Msg rd;
    body(rd);
    m.u16(static_cast<int>(rd.b.size()));
    m.b.insert(m.b.end(), rd.b.begin(), rd.b.end());
  };
  rr(kA, [](Msg& r) {
    for (int b : {192, 0, 2, 1})
      r.u8(b);
  });
  rr(kAaaa, [](Msg& r) {
    r.u16(0x2001);
    r.u16(0x0db8);
    for (int i = 0; i < 11; ++i)
      r.u8(0);
    r.u8(1);
  });
  rr(kCname, [](Msg& r) { r.name("Target.test"); });
  rr(kSoa, [](Msg& r) {
    r.name("ns1.test");
    r.name("hostmaster.test");
    for (uint32_t v : {2024010101u, 7200u, 3600u, 1209600u, 300u})
      r.u32(v);
  });
  rr(kSrv, [](Msg& r) {
    r.u16(0);
    r.u16(5);
    r.u16(5060);
    r.name("sip.test");
  });
  rr(kTxt, [](Msg& r) {
    r.u8(6);
    for (char c : std::string("v=spf1"))
      r.u8(c);
    r.u8(5);
    for (char c : std::string(" -all"))
      r.u8(c);
  });
  rr(99, [](Msg& r) {
    r.u8(0xab);
    r.u8(0x01);
  });
  const auto r = decode_response(m.b);
  ASSERT_TRUE(std::holds_alternative<Response>(r)) << std::get<WireError>(r).reason;
  const auto& a = std::get<Response>(r).answers;
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0].data, "192.0.2.1");
  EXPECT_EQ(a[1].data, "2001:db8::1");
  EXPECT_EQ(a[2].data, "Target.test");
  EXPECT_EQ(a[3].data, "ns1.test hostmaster.test 2024010101 7200 3600 1209600 300");
  EXPECT_EQ(a[4].data, "0 5 5060 sip.test");
  EXPECT_EQ(a[5].data, "v=spf1 -all");
  EXPECT_EQ(a[6].data, "\\# 2 ab01");
  EXPECT_EQ(canonical_answer(kAaaa, " 2001:0db8:0::1 "), "2001:db8::1");
  EXPECT_EQ(canonical_answer(kCname, "TARGET.test."), "target.test");
}

TEST(DnsWireTest, VerdictChecksIdQrRcodeAndType) {
  const Query q{0xbeef, "example.com", kMx, true};
  auto decode = [](const Msg& m) { return std::get<Response>(decode_response(m.b)); };
  EXPECT_EQ(evaluate(decode(mx_reply(0xbeee)), q, {}).kind, Verdict::ignore);

  auto m = mx_reply(0xbeef);
  m.b[2] = std::byte{0x01};  // QR=0
  EXPECT_EQ(evaluate(decode(m), q, {}).reason, "reply is not a response (QR=0)");

  m = mx_reply(0xbeef);
  m.b[3] = std::byte{0x83};  // NXDOMAIN
  EXPECT_EQ(evaluate(decode(m), q, {}).reason, "rcode NXDOMAIN");

  m = mx_reply(0xbeef);
  m.b[2] = std::byte{0x83};  // TC
  EXPECT_EQ(evaluate(decode(m), q, {}).reason, "reply truncated (TC set)");

  const Query qa{0xbeef, "example.com", kA, true};
  const auto v = evaluate(decode(mx_reply(0xbeef)), qa, {});
  EXPECT_EQ(v.kind, Verdict::fail);  // the question echoed is MX
  Msg noans;
  noans.header(0xbeef, 0x8180, 1, 0);
  noans.name("example.com");
  noans.u16(kA);
  noans.u16(1);
  const auto empty = evaluate(decode(noans), qa, {});
  EXPECT_EQ(empty.kind, Verdict::fail);
  EXPECT_NE(empty.reason.find("no A record"), std::string::npos) << empty.reason;
}

std::string decode_error(const std::vector<std::byte>& b) {
  const auto r = decode_response(b);
  if (std::holds_alternative<Response>(r)) return "decoded";
  return std::get<WireError>(r).reason;
}

TEST(DnsWireTest, MalformedRepliesFailCleanly) {
  EXPECT_NE(decode_error(bytes({0x12, 0x34, 0x81})).find("shorter than a header"),
            std::string::npos);
  // Every truncation of a good reply is an error, never a crash.
  const auto good = mx_reply(1).b;
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_NE(decode_error(std::vector<std::byte>(good.begin(), good.begin() + n)), "decoded") << n;
  }
  EXPECT_EQ(decode_error(good), "decoded");
}

TEST(DnsWireTest, CompressionLoopsAreRejected) {
  // A pointer to itself in the question.
  Msg self;
  self.header(1, 0x8180, 1, 0);
  self.u16(0xc00c);
  self.u16(1);
  self.u16(1);
  EXPECT_NE(decode_error(self.b).find("compression"), std::string::npos) << decode_error(self.b);

  // Two names pointing at each other: the forward one is refused.
  Msg pair;
  pair.header(1, 0x8180, 1, 1);
  pair.u8(1);
  pair.u8('a');
  pair.u16(0xc000 | 20);  // forward pointer to the answer's owner name
  pair.u16(1);
  pair.u16(1);
  pair.u8(1);  // offset 20: the answer's owner
  pair.u8('b');
  pair.u16(0xc00c);
  EXPECT_NE(decode_error(pair.b).find("compression"), std::string::npos) << decode_error(pair.b);

  // A pointer out of the message.
  Msg out;
  out.header(1, 0x8180, 1, 0);
  out.u16(0xc000 | 0x3fff);
  EXPECT_NE(decode_error(out.b), "decoded");

  // A long chain of backward pointers, each to the previous one, hidden in
  // the opaque rdata of a first record; the second record's owner enters it.
  Msg chain;
  chain.header(1, 0x8180, 0, 2);
  chain.u8(0);  // offset 12: the first owner, the root
  chain.u16(99);
  chain.u16(1);
  chain.u32(0);
  chain.u16(400);  // rdata at offset 23
  for (int i = 0; i < 200; ++i)
    chain.u16(0xc000 | (i == 0 ? 12 : 23 + 2 * (i - 1)));
  chain.u16(0xc000 | (23 + 2 * 199));
  chain.u16(kA);
  chain.u16(1);
  chain.u32(0);
  chain.u16(0);
  EXPECT_NE(decode_error(chain.b).find("compression loop"), std::string::npos)
      << decode_error(chain.b);
}

TEST(DnsWireTest, RdataLengthsAreChecked) {
  Msg m;
  m.header(1, 0x8180, 0, 1);
  m.name("x");
  m.u16(kA);
  m.u16(1);
  m.u32(0);
  m.u16(3);
  m.u8(1);
  m.u8(2);
  m.u8(3);
  EXPECT_NE(decode_error(m.b).find("A rdata of 3 octets"), std::string::npos) << decode_error(m.b);

  Msg over;
  over.header(1, 0x8180, 0, 1);
  over.name("x");
  over.u16(kA);
  over.u16(1);
  over.u32(0);
  over.u16(40);
  EXPECT_NE(decode_error(over.b).find("overruns"), std::string::npos);

  Msg cname;  // a name running past its rdlength
  cname.header(1, 0x8180, 0, 1);
  cname.name("x");
  cname.u16(kCname);
  cname.u16(1);
  cname.u32(0);
  cname.u16(2);
  cname.name("abc.def");
  EXPECT_NE(decode_error(cname.b).find("rdata length"), std::string::npos) << decode_error(cname.b);

  Msg label;  // a label type 0x40 (extended, obsolete)
  label.header(1, 0x8180, 1, 0);
  label.u8(0x41);
  EXPECT_NE(decode_error(label.b).find("label type"), std::string::npos);
}

TEST(DnsWireTest, EscapesOddLabelBytes) {
  Msg m;
  m.header(1, 0x8180, 1, 0);
  m.u8(3);
  m.u8('a');
  m.u8('.');
  m.u8(0x07);
  m.u8(0);
  m.u16(1);
  m.u16(1);
  const auto r = decode_response(m.b);
  ASSERT_TRUE(std::holds_alternative<Response>(r));
  EXPECT_EQ(std::get<Response>(r).questions[0].name, "a\\.\\007");
}

}  // namespace
}  // namespace lvsd::checkers::dns_wire
