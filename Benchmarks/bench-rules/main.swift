// bench-rules: pattern matching and template rendering.
//   swift run -c release bench-rules            both
//   swift run -c release bench-rules patterns   only matching
//   swift run -c release bench-rules templates  only rendering
import Foundation

let which = CommandLine.arguments.dropFirst().first ?? "all"
if which == "all" || which == "patterns" { runPatternBenchmarks() }
if which == "all" || which == "templates" { runTemplateBenchmarks() }
