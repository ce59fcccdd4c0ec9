"""The Domain shift tab: how far new images are from a run's training images."""
