// Fuzz target for the config loader: any input must give either a Config or a
// list of diagnostics with positions, never a crash or an escaped exception;
// and every accepted config must survive dump -> load unchanged.
//
// With clang and -DLVSD_FUZZ=ON this builds a libFuzzer binary:
//   build-fuzz/tests/fuzz/config_loader_fuzz tests/fuzz/corpus/config -max_total_time=300
// With any compiler, config_loader_fuzz_replay runs the same function over the
// checked-in corpus as a CTest test.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "daemon/config/dump.hpp"
#include "daemon/config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto result = lvsd::config::load_string(text, "fuzz.yaml");
  if (!result.ok()) {
    if (result.errors.empty()) {
      std::fprintf(stderr, "rejected without a diagnostic\n");
      std::abort();
    }
    for (const auto& e : result.errors) {
      if (e.line < 1 || e.column < 1 || e.message.empty()) {
        std::fprintf(stderr, "diagnostic without a position or message: %s\n", e.str().c_str());
        std::abort();
      }
    }
    return 0;
  }
  const std::string dumped = lvsd::config::dump_yaml(*result.config);
  const auto again = lvsd::config::load_string(dumped, "dump.yaml");
  if (!again.ok() || !(*again.config == *result.config)) {
    std::fprintf(stderr, "dump does not round-trip:\n%s\n", dumped.c_str());
    for (const auto& e : again.errors)
      std::fprintf(stderr, "  %s\n", e.str().c_str());
    std::abort();
  }
  return 0;
}
