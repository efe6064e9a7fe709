/// Which of the session's own refusals are answered (and with which status) rather than reset.
/// The body of such an answer is the application's (`H2ServerSession`'s `errorBody`): the
/// transport has no error shape of its own, so the wire keeps ONE (docs/errors.md).
public enum H2LocalResponse {
    /// HTTP status of a stream trip the session answers itself, or nil when it resets instead.
    public static func status(for trip: H2StreamTrip) -> Int? {
        switch trip {
        case .headerListTooLarge, .tooManyHeaderFields: 431
        case .bodyTooLarge: 413
        case .malformedRequest, .protocolReset, .requestTimeout, .responseStalled, .streamLimit, .bodyBudget: nil
        }
    }
}
