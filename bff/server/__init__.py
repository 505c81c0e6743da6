"""Server plumbing: request ids, the open websockets and their keepalive, small waitables.

Nothing here imports the GraphQL layer."""
