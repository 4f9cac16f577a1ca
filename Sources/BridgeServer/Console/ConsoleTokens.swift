import BridgeCore
import Crypto

/// The configured console logins, compared in constant time.
struct ConsoleTokens: Sendable {
    private let admin: [UInt8]
    private let viewers: [[UInt8]]

    init(admin: String, viewers: [String]) {
        self.admin = Self.digest(admin)
        self.viewers = viewers.map(Self.digest)
    }

    /// The role a presented token logs in as, or nil. Every configured token is compared (the
    /// digests have one length), so the time taken says nothing about which one nearly matched.
    func role(for presented: String) -> ConsoleRole? {
        let p = Self.digest(presented)
        let isAdmin = constantTimeEqual(p, admin)
        var isViewer = false
        for v in viewers where constantTimeEqual(p, v) { isViewer = true }
        return isAdmin ? .admin : isViewer ? .viewer : nil
    }

    private static func digest(_ s: String) -> [UInt8] { Array(SHA256.hash(data: Array(s.utf8))) }
}
