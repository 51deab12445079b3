"""Sources: each turns its wire format into the core's observations (`monitor.core.observation`)."""
