// BridgeRules: see DESIGN.md
