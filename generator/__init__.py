"""Knowledge Broker: industry news and a sales team's notes, turned into insight per customer."""

__version__ = "0.1.0"
