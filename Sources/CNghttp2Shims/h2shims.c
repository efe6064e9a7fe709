// HTTP/2 (nghttp2) shims for CapgateHTTP2.
// Wrappers for the Debian backports missing from the 1.52 header (see capgate_h2.h). The
// signatures match the symbols exported by libnghttp2.so.14 (1.52.0-1+deb12u3), checked with
// `nm -D` and by disassembly (uint64_t burst in rsi, rate in rdx; size_t val).
#include "capgate_h2.h"
#include <nghttp2/nghttp2.h>

void nghttp2_option_set_stream_reset_rate_limit(nghttp2_option *option, uint64_t burst,
                                                uint64_t rate);
void nghttp2_option_set_max_continuations(nghttp2_option *option, size_t val);

void capgate_h2_option_set_stream_reset_rate_limit(struct nghttp2_option *option,
                                                   uint64_t burst, uint64_t rate) {
    nghttp2_option_set_stream_reset_rate_limit(option, burst, rate);
}

void capgate_h2_option_set_max_continuations(struct nghttp2_option *option, size_t val) {
    nghttp2_option_set_max_continuations(option, val);
}
