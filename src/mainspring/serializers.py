"""Result serializers under the import path Prefect 3 users write:
`from mainspring.serializers import JSONSerializer`."""

from mainspring.store.results.serializers import JSONSerializer, PickleSerializer, Serializer

__all__ = ["JSONSerializer", "PickleSerializer", "Serializer"]
