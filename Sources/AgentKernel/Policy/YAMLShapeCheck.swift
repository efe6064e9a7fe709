// CYaml is libyaml as vendored by Yams (a transitive module of the Yams product): its
// event parser is an iterative state machine, unlike Yams' recursive composer.
import CYaml

/// A pre-flight over libyaml's event stream before a YAML policy reaches `Yams.compose`.
/// Two shapes are refused, each found by fuzz/config:
/// - nesting deeper than `maxDepth`: Yams composes recursively, so `[[[[...` (or
///   `- - - -`) overflows the stack (PyYAML's composer dies with RecursionError);
/// - more than `maxExpandedNodes` nodes once aliases are expanded ("billion laughs"):
///   PyYAML shares aliased objects, but our conversion to `JSONValue` copies them, so a
///   few hundred bytes of anchors would take minutes and gigabytes.
/// Syntax errors are left to Yams, which reports them with positions.
enum YAMLShapeCheck {
    static let maxDepth = 128
    static let maxExpandedNodes = 200_000

    /// Why `text` is refused, or nil when it may be composed.
    static func problem(in text: String) -> String? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return "could not be checked (libyaml init failed)" }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buf -> String? in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var open: [(anchor: String?, size: Int)] = []  // collections being read
            var anchored: [String: Int] = [:]  // anchor -> expanded size of its node
            var total = 0
            // Adds a finished node of expanded size `size` to its parent (or the total).
            func finish(_ size: Int, anchor: String?) -> String? {
                if let anchor { anchored[anchor] = size }
                if open.isEmpty { total += size } else { open[open.count - 1].size += size }
                let current = open.last?.size ?? total
                return current > maxExpandedNodes ? "expands to more than \(maxExpandedNodes) nodes (aliases included)" : nil
            }
            func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? { p.map { String(cString: $0) } }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                var problem: String?
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    problem = finish(1, anchor: name(event.data.scalar.anchor))
                case YAML_ALIAS_EVENT:
                    problem = finish(name(event.data.alias.anchor).flatMap { anchored[$0] } ?? 1, anchor: nil)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT
                        ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
                    open.append((anchor, 1))
                    if open.count > maxDepth { problem = "nests collections deeper than \(maxDepth) levels" }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let node = open.popLast() { problem = finish(node.size, anchor: node.anchor) }
                default:
                    break
                }
                if let problem { return problem }
            }
        }
    }
}
