public import BridgeCore

extension PatternIndex {
    /// The envelope fields the indexed patterns read (for ``JSONParser/parse(_:keeping:)``).
    ///
    /// Matching an envelope parsed with this filter gives the same result as matching the
    /// fully parsed envelope: only the members on these paths can affect a pattern.
    public var keyFilter: JSONKeyFilter { storage.keyFilter }

    /// Matches an envelope whose `body` is still raw JSON bytes, into a reused buffer (cleared first).
    ///
    /// The body is read into a ``JSONTape`` (kept by the index for reuse, so nothing is allocated
    /// once warm): it is checked as strictly as ``JSONParser/parse(_:)-(Collection<UInt8>)`` does
    /// but no value tree is built. The result equals `matches(envelope)` where `envelope` is
    /// `envelopeBase` with `body` set to the fully parsed bytes.
    /// - Parameters:
    ///   - rawBody: the body as received (UTF-8 JSON).
    ///   - envelopeBase: the other envelope fields (`id`, `source`, `headers`, …); a `body` in it is replaced.
    /// - Throws: ``JSONParseError`` when the body is not valid JSON (`result` is then empty).
    public func matches(rawBody: some Collection<UInt8>, envelopeBase: JSONObject, into result: inout [Int]) throws(JSONParseError) {
        result.removeAll(keepingCapacity: true)
        let scratch = pool.take(for: storage)
        defer { pool.give(scratch) }
        defer {
            // A pooled scratch keeps its tape's storage; not that of an unusually large body.
            if scratch.tape.bytes.capacity > 1 << 20 || scratch.tape.entries.capacity > 1 << 16 { scratch.tape = JSONTape() }
        }
        // Only the members some pattern reads go on the tape (the rest is checked, not recorded).
        try scratch.tape.reset(envelopeBase: envelopeBase, rawBody: rawBody, keeping: storage.keyFilter)
        storage.match(tape: scratch.tape, scratch, into: &result)
    }

    /// Indices (ascending) of the patterns matching an envelope whose `body` is raw JSON bytes.
    /// - Throws: ``JSONParseError`` when the body is not valid JSON.
    public func matches(rawBody: some Collection<UInt8>, envelopeBase: JSONObject) throws(JSONParseError) -> [Int] {
        var result: [Int] = []
        try matches(rawBody: rawBody, envelopeBase: envelopeBase, into: &result)
        return result
    }
}
