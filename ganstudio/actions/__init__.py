"""What the UI and the CLI call: plain types in, plain types out; model work goes through the engine."""
