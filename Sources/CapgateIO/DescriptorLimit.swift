import Glibc

/// Why the process cannot hold the descriptors its limits promise.
public struct DescriptorLimitError: Error, Sendable, Equatable, CustomStringConvertible {
    public let required: Int
    public let hardLimit: UInt64
    public let explanation: String
    public var description: String {
        "RLIMIT_NOFILE hard limit \(hardLimit) cannot cover \(explanation) = \(required) descriptors; "
            + "raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) or lower those limits"
    }
}

/// RLIMIT_NOFILE against the connection caps, checked at start.
///
/// WHY: a cap larger than the descriptor limit is no cap at all: accept(2) fails with EMFILE
/// first, and then every socket (the agent's too) is refused at random instead of by the
/// budgets. So the soft limit is raised (up to the hard one) to cover the caps, and a hard
/// limit that cannot cover them stops the start-up with a message naming the limit.
public enum DescriptorLimit {
    /// What to do with the current limits.
    public enum Plan: Sendable, Equatable {
        /// The soft limit already covers `required`.
        case sufficient
        /// Raise the soft limit to this value (the hard limit, or `required` when the hard
        /// limit is unlimited).
        case raiseSoft(to: UInt64)
        /// Even the hard limit is too low.
        case insufficient
    }

    /// The decision, pure (unit-tested with made-up limits). `unlimited` is RLIM_INFINITY
    /// (all ones on Linux).
    public static func plan(soft: UInt64, hard: UInt64, required: Int,
                            unlimited: UInt64 = UInt64.max) -> Plan {
        let need = UInt64(max(0, required))
        if soft == unlimited || soft >= need { return .sufficient }
        if hard == unlimited { return .raiseSoft(to: need) }
        if hard < need { return .insufficient }
        return .raiseSoft(to: hard)
    }

    /// Reads RLIMIT_NOFILE, raises the soft limit if needed; throws when the hard limit is too
    /// low. `explanation` says what `required` is made of (it goes into the error message).
    /// Returns the soft limit in effect afterwards.
    @discardableResult
    public static func ensure(required: Int, explanation: String) throws(DescriptorLimitError) -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw DescriptorLimitError(required: required, hardLimit: 0, explanation: explanation + " (getrlimit failed)")
        }
        switch plan(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max), required: required) {
        case .sufficient:
            return UInt64(limit.rlim_cur)
        case .insufficient:
            throw DescriptorLimitError(required: required, hardLimit: UInt64(limit.rlim_max), explanation: explanation)
        case .raiseSoft(let to):
            var raised = limit
            raised.rlim_cur = rlim_t(to)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 {
                // An unlimited hard limit can still be capped by fs.nr_open: try the need itself.
                raised.rlim_cur = rlim_t(required)
                guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else {
                    throw DescriptorLimitError(required: required, hardLimit: UInt64(limit.rlim_max),
                                               explanation: explanation + " (setrlimit failed)")
                }
            }
            return UInt64(raised.rlim_cur)
        }
    }
}
