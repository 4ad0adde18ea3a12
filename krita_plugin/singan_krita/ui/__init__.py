"""The docker and the Qt glue that drives the controller (timer + socket notifier)."""
