#ifndef CAPGATE_H2_SHIMS_H
#define CAPGATE_H2_SHIMS_H
// HTTP/2 (nghttp2) shims for CapgateHTTP2.
// Debian's libnghttp2 1.52.0-1+deb12u3 exports two backported options (CVE-2023-44487 rapid
// reset, CVE-2024-28182 CONTINUATION flood) that its 1.52 header does not declare. The opaque
// option pointer imports into Swift as OpaquePointer, so no nghttp2 types leak into this header.
#include <stddef.h>
#include <stdint.h>

struct nghttp2_option;

/// nghttp2_option_set_stream_reset_rate_limit(option, burst, rate): token bucket on peer
/// RST_STREAM; exhausted means GOAWAY(ENHANCE_YOUR_CALM) from the library.
void capgate_h2_option_set_stream_reset_rate_limit(struct nghttp2_option *option,
                                                   uint64_t burst, uint64_t rate);

/// nghttp2_option_set_max_continuations(option, val): CONTINUATION frames per header block.
void capgate_h2_option_set_max_continuations(struct nghttp2_option *option, size_t val);

#endif
