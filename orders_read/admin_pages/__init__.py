"""The admin's own pages: projection status, the dashboard and its charts, an order's story,
a request's trace."""
