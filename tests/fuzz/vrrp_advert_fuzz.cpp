// Fuzz target for the VRRP receive path (vrrp/receive_path.hpp), which runs the
// advert decoder on every datagram a raw socket returns: any input gives an
// accepted advert or exactly one drop reason, never a crash, and an accepted
// advert survives encode -> decode unchanged.
//
// Input: the first byte picks the family (bit 0: 0 = an IPv4 datagram with its
// header, 1 = an IPv6 payload from fe80::1 to ff02::12 with hop limit 255) and
// whether the v3 instance checksums without the IPv4 pseudo-header (bit 1);
// the rest is the datagram.
//
// With clang and -DLVSD_FUZZ=ON this builds a libFuzzer binary:
//   build-fuzz/tests/fuzz/vrrp_advert_fuzz tests/fuzz/corpus/vrrp -max_total_time=300
// With any compiler, vrrp_advert_fuzz_replay runs the same function over the
// checked-in corpus as a CTest test.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "vrrp/receive_path.hpp"

namespace {

using namespace lvsd::vrrp;
using boost::asio::ip::make_address;

struct Instances {
  RxInstance v2_pass;  // vrid 51: version 2, auth "secret", 1 s, 192.0.2.10-11
  RxInstance v3_v4;    // vrid 52: version 3, 192.0.2.20-22
  RxInstance v3_v6;    // vrid 53: version 3, 2001:db8::53-54
  Instances() {
    v2_pass.expect.version = 2;
    v2_pass.expect.vrid = 51;
    v2_pass.expect.auth_type = AuthType::simple_text;
    v2_pass.expect.auth_data = simple_password("secret");
    v2_pass.expect.adver_int = 1;
    v2_pass.expect.addresses = {make_address("192.0.2.10"), make_address("192.0.2.11")};
    v3_v4.expect.version = 3;
    v3_v4.expect.vrid = 52;
    v3_v4.expect.addresses = {make_address("192.0.2.20"), make_address("192.0.2.21"),
                              make_address("192.0.2.22")};
    v3_v6.expect.version = 3;
    v3_v6.expect.vrid = 53;
    v3_v6.expect.addresses = {make_address("2001:db8::53"), make_address("2001:db8::54")};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static Instances inst;
  const bool v6 = data[0] & 1;
  inst.v3_v4.v3_checksum_pseudo_header = !(data[0] & 2);
  RawDatagram d;
  d.family = v6 ? Family::inet6 : Family::inet;
  for (size_t i = 1; i < size; ++i)
    d.bytes.push_back(std::byte{data[i]});
  if (v6) {
    d.source = make_address("fe80::1");
    d.destination = make_address("ff02::12");
    d.hop_limit = 255;
  }
  const RxLookup lookup = [&](std::uint8_t vrid) -> const RxInstance* {
    if (v6) return vrid == 53 ? &inst.v3_v6 : nullptr;
    if (vrid == 51) return &inst.v2_pass;
    if (vrid == 52) return &inst.v3_v4;
    return nullptr;
  };
  const RxResult r = receive(d, lookup);
  if (!r.accepted()) {
    if (static_cast<std::size_t>(*r.drop) >= kRxDropCount) {
      std::fprintf(stderr, "drop reason out of range\n");
      std::abort();
    }
    return 0;
  }
  if (!r.instance || r.advert.vrid != r.instance->expect.vrid) {
    std::fprintf(stderr, "accepted without its instance\n");
    std::abort();
  }
  ChecksumContext ctx;
  ctx.source = r.source;
  ctx.destination = r.destination;
  ctx.v3_checksum_pseudo_header = r.instance->v3_checksum_pseudo_header;
  const auto again = decode(encode(r.advert, ctx), ctx);
  Advert want = r.advert;
  if (!again) {
    std::fprintf(stderr, "accepted advert does not re-encode: %s\n",
                 std::string(to_string(again.error())).c_str());
    std::abort();
  }
  want.checksum = again->checksum;
  if (!(*again == want)) {
    std::fprintf(stderr, "accepted advert does not round-trip\n");
    std::abort();
  }
  return 0;
}
