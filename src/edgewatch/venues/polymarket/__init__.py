"""Polymarket (Gamma, CLOB, market-channel WebSocket): parsing, REST client, polling venue."""
