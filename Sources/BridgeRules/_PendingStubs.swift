// TEMPORARY: compile-only stand-ins until the patterns/templates branches merge.
public import BridgeConfig
public import BridgeCore
public import Foundation
public struct RenderContext: Sendable { public init(envelope: JSONValue, rule: String, now: Date) {} }
public struct Template: Sendable {
    let text: String
    public init(_ text: String) throws(TemplateError) { self.text = text }
    public var isConstant: Bool { !text.contains("{{") }
    public func renderString(_ ctx: RenderContext) throws(RenderError) -> String { text }
}
public struct ValueTemplate: Sendable {
    let v: JSONValue
    public static func compile(_ node: ConfigNode, diagnostics: inout Diagnostics) -> ValueTemplate? { ValueTemplate(v: node.json) }
    public init(v: JSONValue) { self.v = v }
    public init(json: JSONValue) throws(TemplateError) { v = json }
    public func render(_ ctx: RenderContext) throws(RenderError) -> JSONValue { v }
}
public struct TemplateError: Error, Sendable, CustomStringConvertible { public var message: String; public var offset: Int; public var description: String { message } }
public struct RenderError: Error, Sendable, CustomStringConvertible { public var message: String; public var path: String?; public var description: String { message } }
