import CLibYAML

/// YAML policy text -> the ordered `JSONValue` document the TOML and dict loaders also
/// produce. libyaml (Debian's libyaml-dev) supplies the events; composing them is ours and
/// iterative, so two hostile shapes found by fuzz/config are refused while reading, before
/// anything grows:
/// - nesting deeper than `maxDepth` (`[[[[...`, `- - - -`; a recursive composer overflows
///   the stack, and pyyaml's dies with RecursionError);
/// - more than `maxExpandedNodes` nodes once aliases are expanded ("billion laughs": pyyaml
///   shares aliased objects, but the policy loader walks the expanded tree).
/// The rest follows pyyaml's `safe_load`: one document, duplicate anchors and undefined
/// aliases refused, `<<` merge keys, YAML 1.1 scalars (`YAMLScalars`), mapping order kept
/// (`explain` reports in document order), a repeated key keeping its first position and its
/// last value. Tags `safe_load` would turn into Python-only types (binary, set, omap, pairs)
/// or cannot construct are refused; timestamps stay text (JSON has no date type).
enum YAMLReader {
    static let maxDepth = 128
    static let maxExpandedNodes = 200_000

    enum Failure: Error, Equatable {
        /// A refused shape (depth, expansion): "YAML policy '<file>' <reason>."
        case shape(String)
        /// Not YAML, or YAML that `safe_load` would not construct: "YAML parse error in ...".
        case syntax(String)
    }

    /// A finished node: its value, its text when it is a scalar (mapping keys are kept by
    /// their text), its expanded size, and whether it resolved to pyyaml's `merge`/`value` tag.
    private struct Node {
        var value: JSONValue
        var text: String?
        var size: Int
        var special: YAMLScalars.Implicit? = nil
    }

    /// A collection being read: sequence items, or mapping keys and values alternating.
    private struct Open {
        var isMapping: Bool
        var anchor: String?
        var mark: yaml_mark_t
        var items: [Node] = []
        var size = 1
    }

    /// The document, or nil for an empty stream (pyyaml's `None`).
    static func read(_ text: String) throws(Failure) -> JSONValue? {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return nil }
        let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
        _ = input.initialize(from: bytes)
        defer { input.deallocate() }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw .syntax("libyaml could not start") }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, input.baseAddress, input.count)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        var composer = Composer()
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw .syntax(parserProblem(parser)) }
            defer { yaml_event_delete(&event) }
            if let done = try composer.consume(event) { return done }
        }
    }

    private struct Composer {
        var stack: [Open] = []
        var anchors: [String: Node] = [:]
        var root: Node?
        var documents = 0
        var total = 0

        /// Feeds one event; the result once the stream ends (`.some(nil)` for no document).
        mutating func consume(_ event: yaml_event_t) throws(Failure) -> JSONValue?? {
            let mark = event.start_mark
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return .some(root?.value)
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 { throw .syntax("expected a single document in the stream" + at(mark)) }
                anchors = [:]
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let node = try Self.scalar(text, tag: string(s.tag), plain: s.plain_implicit != 0, mark: mark)
                try add(node, anchor: string(s.anchor), mark: mark)
            case YAML_ALIAS_EVENT:
                let name = string(event.data.alias.anchor) ?? ""
                guard let node = anchors[name] else { throw .syntax("found undefined alias '\(name)'" + at(mark)) }
                try add(node, anchor: nil, mark: mark)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let tag = string(isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag)
                let own = YAMLScalars.yaml + (isMapping ? "map" : "seq")
                if let tag, tag != "!", tag != own {
                    throw .syntax("could not determine a constructor for the tag '\(tag)'" + at(mark))
                }
                let anchor = string(isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor)
                stack.append(Open(isMapping: isMapping, anchor: anchor, mark: mark))
                if stack.count > maxDepth { throw .shape("nests collections deeper than \(maxDepth) levels") }
            case YAML_SEQUENCE_END_EVENT:
                let open = stack.removeLast()
                for item in open.items { try Self.plainValue(item, mark: open.mark) }
                try add(Node(value: .array(open.items.map(\.value)), size: open.size), anchor: open.anchor, mark: open.mark)
            case YAML_MAPPING_END_EVENT:
                let open = stack.removeLast()
                try add(Node(value: .object(try Self.mapping(open)), size: open.size), anchor: open.anchor, mark: open.mark)
            default:
                break
            }
            return nil
        }

        /// Records the anchor and adds a finished node to its parent (or as the root),
        /// refusing once the expanded size passes the bound.
        private mutating func add(_ node: Node, anchor: String?, mark: yaml_mark_t) throws(Failure) {
            if let anchor {
                if anchors[anchor] != nil { throw .syntax("found duplicate anchor '\(anchor)'" + at(mark)) }
                anchors[anchor] = node
            }
            let current: Int
            if stack.isEmpty {
                try Self.plainValue(node, mark: mark)
                root = node
                total += node.size
                current = total
            } else {
                stack[stack.count - 1].items.append(node)
                stack[stack.count - 1].size += node.size
                current = stack[stack.count - 1].size
            }
            if current > maxExpandedNodes {
                throw .shape("expands to more than \(maxExpandedNodes) nodes (aliases included)")
            }
        }

        /// `<<` and `=` are only meaningful as mapping keys; elsewhere safe_load has no constructor.
        private static func plainValue(_ node: Node, mark: yaml_mark_t) throws(Failure) {
            if let special = node.special {
                throw .syntax("could not determine a constructor for the tag '\(YAMLScalars.yaml)\(special)'" + at(mark))
            }
        }

        /// Merge keys first, then the mapping's own pairs, as pyyaml 6.0.3's flatten_mapping:
        /// the merged mappings' pairs in document order (a list of mappings in list order), so
        /// for a key in several of them the last one's value wins; a repeated key keeps its
        /// first position. (pyyaml skips a merged pair whose key is the very same Python string
        /// object as an earlier one, meant for merging one anchor twice; one-character keys
        /// are cached objects, so for them the first value wins there. We go by the text.)
        private static func mapping(_ open: Open) throws(Failure) -> JSONObject {
            var merged: [(String, JSONValue)] = []
            var own: [(String, JSONValue)] = []
            var i = 0
            while i + 1 < open.items.count {
                let key = open.items[i], value = open.items[i + 1]
                i += 2
                try plainValue(value, mark: open.mark)
                if key.special == .merge {
                    switch value.value {
                    case .object(let o):
                        merged += o.map { ($0.key, $0.value) }
                    case .array(let list):
                        var parts: [JSONObject] = []
                        for item in list {
                            guard case .object(let o) = item else {
                                throw .syntax("expected a mapping for merging" + at(open.mark))
                            }
                            parts.append(o)
                        }
                        for o in parts { merged += o.map { ($0.key, $0.value) } }
                    default:
                        throw .syntax("expected a mapping or list of mappings for merging" + at(open.mark))
                    }
                    continue
                }
                guard let text = key.text else { throw .syntax("found unhashable key" + at(open.mark)) }
                own.append((text, value.value))
            }
            // Python dict semantics with a hash index: `JSONObject`'s own key lookup is a linear
            // scan, and a mapping may hold up to `maxExpandedNodes` keys. Keys compare by UTF-8
            // bytes (code points, as Python `str`), as `JSONObject` does.
            var index: [[UInt8]: Int] = [:]
            var keys: [String] = [], values: [JSONValue] = []
            for (key, value) in merged + own {
                let bytes = Array(key.utf8)
                if let i = index[bytes] {
                    values[i] = value
                } else {
                    index[bytes] = keys.count
                    keys.append(key)
                    values.append(value)
                }
            }
            var object = JSONObject()
            object.reserveCapacity(keys.count)
            for i in keys.indices { object.appendUnchecked(keys[i], values[i]) }
            return object
        }

        private static func scalar(_ text: String, tag: String?, plain: Bool, mark: yaml_mark_t) throws(Failure) -> Node {
            func node(_ v: JSONValue?) throws(Failure) -> Node {
                guard let v else { throw .syntax("cannot construct '\(text)' as \(tag ?? "a scalar")" + at(mark)) }
                return Node(value: v, text: text, size: 1)
            }
            let y = YAMLScalars.yaml
            // libyaml, like pyyaml's parser, marks a plain scalar and any scalar with the
            // non-specific tag `!` as implicit: those go through the YAML 1.1 resolvers.
            switch tag {
            case nil where plain, "!" where plain:
                switch YAMLScalars.resolve(text) {
                case .null: return try node(.null)
                case .bool: return try node(YAMLScalars.bool(text).map(JSONValue.bool))
                // Outside Int64 (Python ints are unbounded) the text is kept, as before.
                case .int: return try node(YAMLScalars.int(text).map(JSONValue.int) ?? .string(text))
                case .float: return try node(YAMLScalars.float(text).map(JSONValue.double) ?? .string(text))
                case .merge: return Node(value: .string(text), text: text, size: 1, special: .merge)
                case .value: return Node(value: .string(text), text: text, size: 1, special: .value)
                case .string: return try node(.string(text))
                }
            case nil, "!", y + "str", y + "timestamp": return try node(.string(text))
            case y + "null": return try node(.null)
            case y + "bool": return try node(YAMLScalars.bool(text).map(JSONValue.bool))
            case y + "int": return try node(YAMLScalars.int(text).map(JSONValue.int))
            case y + "float": return try node(YAMLScalars.float(text).map(JSONValue.double))
            case y + "merge": return Node(value: .string(text), text: text, size: 1, special: .merge)
            case let other?:
                throw .syntax("could not determine a constructor for the tag '\(other)'" + at(mark))
            }
        }
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: $0) }
    }

    /// pyyaml counts lines and columns from 1; libyaml's marks count from 0.
    private static func at(_ mark: yaml_mark_t) -> String {
        " (line \(mark.line + 1), column \(mark.column + 1))"
    }

    private static func parserProblem(_ parser: yaml_parser_t) -> String {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        var text = problem + at(parser.problem_mark)
        if let context = parser.context.map({ String(cString: $0) }) {
            text = context + at(parser.context_mark) + ": " + text
        }
        return text
    }
}
