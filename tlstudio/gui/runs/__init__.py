"""The Runs tab: the runs folder's runs as a table, opening one, comparing several side by side
and combining them into an ensemble."""
