"""Result storage (fsspec) and the serializers of task results."""
