import BridgeCore
@testable import BridgeRules

/// Parses JSON text written in a test (a broken literal is a test bug, so it traps).
func json(_ text: String) -> JSONValue {
    do { return try JSONParser.parse(text) } catch { fatalError("bad JSON in test: \(error): \(text)") }
}

/// Compiles a JSON pattern written in a test.
func pattern(_ text: String) throws -> Pattern {
    try PatternCompiler.compile(json: json(text))
}
