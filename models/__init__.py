"""The book's Keras 3 models and the training loop that feeds them from recio's loaders."""

from models.errors import ModelError

__all__ = ["ModelError"]
