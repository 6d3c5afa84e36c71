"""extractor: face templates, attributes and liveness (onnxruntime)."""
