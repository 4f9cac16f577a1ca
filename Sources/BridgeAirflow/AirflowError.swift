/// The error type of the Airflow module (auth and request preparation); trigger results never throw.
public struct AirflowError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. A struct over a private enum so codes can grow.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case config, credentials, credentialsRejected, transport, invalidRequest, badAnswer
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The target's settings cannot work (missing key file, bad key).
        public static let config = Code(.config)
        /// Credentials could not be obtained (no AWS credentials found, token endpoint unreachable).
        public static let credentials = Code(.credentials)
        /// The credential issuer refused the credentials (bad password, bad key).
        public static let credentialsRejected = Code(.credentialsRejected)
        /// The network failed while fetching credentials.
        public static let transport = Code(.transport)
        /// The request cannot be sent as asked (bad run id).
        public static let invalidRequest = Code(.invalidRequest)
        /// A peer answered something unusable.
        public static let badAnswer = Code(.badAnswer)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// A sentence a person can act on; never contains a secret.
    public var message: String
    /// Whether trying again later may succeed.
    public var isRetriable: Bool
    /// HTTP status of the answer that caused this, if any.
    public var httpStatus: Int?
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, retriable: Bool = false, httpStatus: Int? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.isRetriable = retriable
        self.httpStatus = httpStatus
        self.file = file
        self.line = line
    }

    public var description: String { message }
}
