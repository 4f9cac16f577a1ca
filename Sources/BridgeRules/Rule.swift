public import BridgeConfig
public import BridgeCore

/// One compiled rule: when its pattern matches an event from one of its
/// sources, it produces one ``TriggerJob`` rendered from its trigger templates.
public struct Rule: Sendable {
    /// Unique name across the rules folder; part of the default run id.
    public var name: String
    public var description: String?
    /// Source names this rule listens to; `nil` = all sources.
    public var sources: Set<String>?
    /// The compiled `match:` pattern.
    public var pattern: Pattern
    /// The compiled `trigger:` block.
    public var trigger: TriggerTemplate
    /// Per-rule retry overrides (`retry:`), stored with each job.
    public var retry: RetryOverrides?
    /// Where the rule is defined (for messages).
    public var location: SourceLocation
    /// `false` when the file says `enabled: false` (kept out of the set).
    public var enabled = true

    /// Whether the rule listens to `source`.
    public func accepts(source: String) -> Bool {
        sources?.contains(source) ?? true
    }
}

/// The compiled `trigger:` block of a rule.
public struct TriggerTemplate: Sendable {
    /// Target name (a key of `targets:` in the service config). Not templated.
    public var target: String
    public var dagId: Template
    /// `nil` → `<rule>__<event id>`, sanitised.
    public var dagRunId: Template?
    public var logicalDate: Template?
    public var note: Template?
    /// The `conf` tree; its strings are templates.
    public var conf: ValueTemplate
    /// Where `target:` is written, for "unknown target" diagnostics.
    public var targetLocation: SourceLocation
}
