// BridgeStore: see DESIGN.md
