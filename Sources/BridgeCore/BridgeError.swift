/// The error type of the core module: a growable code, a message a person
/// can act on, an optional cause and where it was raised.
public struct BridgeError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum so codes can grow.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidInput, render, config, io, transport, unavailable, notFound, conflict, internalError
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Bad input from a sender or operator.
        public static let invalidInput = Code(.invalidInput)
        /// A template could not be rendered for an event.
        public static let render = Code(.render)
        /// Bad configuration.
        public static let config = Code(.config)
        /// Local I/O failed (disk, store).
        public static let io = Code(.io)
        /// Network failure talking to a peer.
        public static let transport = Code(.transport)
        /// Temporarily unable (backpressure, shutting down).
        public static let unavailable = Code(.unavailable)
        /// Something asked for does not exist.
        public static let notFound = Code(.notFound)
        /// A conflicting state.
        public static let conflict = Code(.conflict)
        /// A bug.
        public static let internalError = Code(.internalError)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    /// Whether trying the same thing again later may succeed.
    public var isRetriable: Bool {
        code == .transport || code == .unavailable || code == .io
    }

    public var description: String {
        if let cause { return "\(message): \(cause)" }
        return message
    }
}
