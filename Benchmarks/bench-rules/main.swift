runTemplateBenchmarks()
