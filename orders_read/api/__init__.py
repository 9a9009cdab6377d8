"""The query API: read viewsets, their serializers, filters, pagination and permissions, and
reading your own writes."""
