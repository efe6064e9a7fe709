/// JSON, TOML, the strict field reader and the Python string/float semantics live in
/// `CapgateFormats`, below the kernel, so layers that only need a data format (PKI's
/// index, fuzzers) do not depend on the kernel. Re-exported so `import AgentKernel`
/// keeps offering them.
@_exported import CapgateFormats
