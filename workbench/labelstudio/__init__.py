"""Label Studio integration: the client is the only module that talks to Label Studio."""
