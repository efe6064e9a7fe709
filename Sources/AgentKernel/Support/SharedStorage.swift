/// Whether `a` and `b` are views of one array buffer (same address, same count), so equal
/// without reading an element. The memos keyed by an array's identity use it (the default
/// policy's `allowed_fields` forms, the signing constraints' canonical bytes): a buffer held
/// by a memo cannot change (a write to a shared array copies first) and stays alive, so its
/// address cannot come to name another array. An equal list in another buffer is simply
/// not a hit.
func sharesStorage<T>(_ a: [T], _ b: [T]) -> Bool {
    a.count == b.count
        && a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
}
