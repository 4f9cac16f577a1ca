public import BridgeRules
import Synchronization

/// The active rule set, swapped atomically on reload; readers never see a half-loaded set.
public final class RuleSetHolder: Sendable {
    private let current: Mutex<(ruleSet: RuleSet, generation: Int)>

    public init(_ ruleSet: RuleSet) {
        current = Mutex((ruleSet, 1))
    }

    /// The rule set in force.
    public var ruleSet: RuleSet { current.withLock { $0.ruleSet } }

    /// How many sets have been active (1 at start).
    public var generation: Int { current.withLock { $0.generation } }

    /// Makes `ruleSet` the active set.
    public func replace(_ ruleSet: RuleSet) {
        current.withLock { $0 = (ruleSet, $0.generation + 1) }
    }
}
