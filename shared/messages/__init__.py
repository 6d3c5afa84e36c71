"""Messages that cross the bus: frozen msgspec Structs, request next to its response.

The SmartFace-shaped ones (camelCase) double as the gateway's REST bodies, so each shape is
written once. Additive changes only: new fields get defaults.
"""
