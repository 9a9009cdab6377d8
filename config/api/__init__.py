"""The API edge both apps share: the error model and its handler, the schema class and its
hooks, shared serializer fields, and the admin's display helpers and read-only mixin."""
