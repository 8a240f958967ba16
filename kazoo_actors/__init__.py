"""kazoo-actors: the kazoo.js softphone contract as a Trio actor engine."""

__version__ = "0.1.0"
