import CapgateFormats

extension JSONObject {
    /// `(self[a], self[b], self[c], self[d])` (`d` optional), read in one pass over the keys.
    ///
    /// Why: `expand` reads four names of its query and three of the handle's constraints;
    /// each subscript was a call scanning the keys again and copying the keys array in and
    /// out of its closure (~5% of a quickstart expand). Same answers as the subscripts: a
    /// name takes the value at its first key equal by code points (`PyString.equal`, as
    /// `index(of:)`), and the names are distinct, so a key can match at most one of them.
    func members(_ a: String, _ b: String, _ c: String, _ d: String? = nil)
        -> (JSONValue?, JSONValue?, JSONValue?, JSONValue?) {
        var ra: JSONValue?, rb: JSONValue?, rc: JSONValue?, rd: JSONValue?
        let keys = self.keys
        for i in keys.indices {
            let k = keys[i]
            if ra == nil && PyString.equal(k, a) {
                ra = values[i]
            } else if rb == nil && PyString.equal(k, b) {
                rb = values[i]
            } else if rc == nil && PyString.equal(k, c) {
                rc = values[i]
            } else if let d, rd == nil && PyString.equal(k, d) {
                rd = values[i]
            }
        }
        return (ra, rb, rc, rd)
    }
}
