"""detector: finds faces and landmarks in images (onnxruntime)."""
