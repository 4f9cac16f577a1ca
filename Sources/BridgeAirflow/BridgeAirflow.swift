// BridgeAirflow: see DESIGN.md
