"""The GraphQL layer (Strawberry): the only package that imports strawberry."""
