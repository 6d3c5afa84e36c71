"""SmartFace's GraphQL API (port 8097): queries over what Facegate stores, live subscriptions."""
