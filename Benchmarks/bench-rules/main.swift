// bench-rules: pattern matching and template rendering.
//   swift run -c release bench-rules            both
//   swift run -c release bench-rules patterns   only matching
//   swift run -c release bench-rules templates  only rendering
//   swift run -c release bench-rules file --rules RULES.jsonl --events EVENTS.jsonl [--seconds S] [--list]
//                                               parse + match of JSON-lines inputs another engine can read
import Foundation

let which = CommandLine.arguments.dropFirst().first ?? "all"
if which == "file" { runFileBenchmark(Array(CommandLine.arguments.dropFirst(2))) }
if which == "all" || which == "patterns" { runPatternBenchmarks() }
if which == "all" || which == "templates" { runTemplateBenchmarks() }
