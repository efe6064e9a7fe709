/// A field that is missing, mistyped or unknown: `field` is its dotted path
/// (`request.capability_id`, `identity[0].roles`) so every layer's error can name it.
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}

/// An error type a `FieldReader` can throw directly: each layer keeps its own error
/// (the kernel's decode error, the wire's invalid-request error, the config error) and
/// says here how a field failure becomes one.
public protocol FieldErrorConvertible: Error {
    init(fieldError: FieldError)
}

extension FieldError: FieldErrorConvertible {
    public init(fieldError: FieldError) { self = fieldError }
}
