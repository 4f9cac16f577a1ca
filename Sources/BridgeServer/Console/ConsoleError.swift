/// A console request that cannot be served: its status and what the page tells the operator.
struct ConsoleError: Error, Sendable {
    /// The HTTP status code.
    var status: Int
    var message: String

    init(_ status: Status, _ message: String) {
        self.status = status.rawValue
        self.message = message
    }

    /// The statuses the console answers with.
    enum Status: Int {
        case badRequest = 400, forbidden = 403, notFound = 404, conflict = 409, contentTooLarge = 413, unsupportedMediaType = 415
    }
}
