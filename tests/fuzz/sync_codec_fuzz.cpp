// Fuzz target for the ip_vs sync codec: any datagram must decode without a
// crash or an out-of-bounds read, to entries and/or a drop reason; whatever was
// accepted must encode again (same version and syncid) and decode to the same
// entries with no drop at all; and the encoder's bytes must be stable.
//
// With clang and -DLVSD_FUZZ=ON this builds a libFuzzer binary:
//   build-fuzz/tests/fuzz/sync_codec_fuzz tests/fuzz/corpus/sync -max_total_time=300
// With any compiler, sync_codec_fuzz_replay runs the same function over the
// checked-in corpus as a CTest test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "sync/codec.hpp"

namespace {

constexpr std::string_view kEngines[] = {"sip"};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "sync_codec_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lvsd::sync;
  // The first byte picks the receiver's syncid filter (0: take all), the rest
  // is the datagram.
  if (size == 0) return 0;
  const DecodeOptions options{.syncid = static_cast<std::uint8_t>(data[0] % 4 == 0 ? 0 : data[0]),
                              .pe_engines = kEngines};
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  const DecodeResult r = decode(bytes, options);

  if (r.error && drop_scope(*r.error) == DropScope::entry) fail("entry-scope reason as error");
  for (const EntryDrop& d : r.dropped) {
    if (drop_scope(d.reason) != DropScope::entry) fail("non-entry reason in dropped");
    if (d.index >= r.nr_conns) fail("drop index past nr_conns");
  }
  if (r.message.conns.size() + r.dropped.size() > r.nr_conns) fail("more entries than nr_conns");
  if (r.error && drop_scope(*r.error) == DropScope::message && !r.message.conns.empty())
    fail("entries despite a message-level drop");
  if (!r.error && r.message.conns.size() + r.dropped.size() != r.nr_conns)
    fail("entries missing without an error");
  if (r.error && drop_scope(*r.error) == DropScope::message) return 0;

  for (const SyncConn& c : r.message.conns) {
    if (validate(c, r.message.version)) fail("decoded entry does not validate");
  }
  const Bytes again = encode(r.message);
  const DecodeResult r2 = decode(again, options);
  if (!r2.ok() || !r2.dropped.empty()) fail("re-encoded message is not accepted whole");
  if (!(r2.message == r.message)) fail("re-encoded message decodes differently");
  if (encode(r2.message) != again) fail("encoding is not stable");

  if (r.message.version == 1) {
    // The builder must produce the same bytes as encode() for what fits.
    MessageBuilder b(r.message.syncid, 65507);
    for (const SyncConn& c : r.message.conns) {
      if (b.add(c) != MessageBuilder::AddResult::added) fail("builder refused an entry");
    }
    const auto built = b.bytes();
    if (built.size() != again.size() || !std::equal(built.begin(), built.end(), again.begin()))
      fail("builder and encode differ");
  }
  return 0;
}
