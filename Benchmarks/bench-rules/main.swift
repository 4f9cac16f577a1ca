runPatternBenchmarks()
