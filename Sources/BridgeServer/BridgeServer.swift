// BridgeServer: see DESIGN.md
